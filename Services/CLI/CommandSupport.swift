import Foundation
import Logging
import PasserelleBus
import PasserelleRuntime

/// What every subcommand that talks to the bus shares.
enum CommandSupport {
  /// Plain-text warnings on stderr: the CLI's output is for people and pipes.
  static func bootstrapLogging() -> Logger {
    Runtime.bootstrapLogging(service: "passerelle", level: .warning, format: .text)
    return Logger(label: "passerelle")
  }

  /// Resolves the bus options, printing one line and exiting 78 when a setting is wrong.
  static func client(_ options: BusOptions) throws -> BusClient {
    do {
      let (endpoints, security) = try options.resolve(environment: ProcessInfo.processInfo.environment)
      return try BusClient(endpoints: endpoints, security: security)
    } catch let error as ConfigurationError {
      throw Runtime.report(error, service: "passerelle")
    }
  }

  /// A fresh directory for a command's scratch database.
  static func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("passerelle-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}
