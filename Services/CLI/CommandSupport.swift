import ArgumentParser
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
    let (endpoints, security) = try resolve(options)
    return try BusClient(endpoints: endpoints, security: security)
  }

  /// The bus's endpoints and CURVE settings from flags and environment; a bad one is reported
  /// (one line naming it) and exits.
  static func resolve(_ options: BusOptions) throws -> (BusEndpoints, BusClientSecurity?) {
    do {
      return try options.resolve(environment: ProcessInfo.processInfo.environment)
    } catch {
      throw Runtime.report(error, service: "passerelle")
    }
  }

  /// Runs a command's first query; a bus that does not answer is reported in one line naming
  /// the endpoint (exit 69) rather than as an error dump.
  static func reaching<T>(_ options: BusOptions, _ query: () async throws -> T) async throws -> T {
    do {
      return try await query()
    } catch is BusTimeout {
      let (endpoints, _) = try resolve(options)
      throw failure(
        "no answer from the bus at \(endpoints.query) (PASSERELLE_BUS_QUERY or --query): is it running?",
        exitCode: 69)
    }
  }

  /// Prints `message` on stderr and returns the exit to throw: for failures that are not usage
  /// errors (ArgumentParser would add the usage text to those), with a `sysexits.h` code such as
  /// 65 (bad data), 66 (no input), 75 (try again later).
  static func failure(_ message: String, exitCode: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
    return ExitCode(exitCode)
  }

  /// A fresh directory for a command's scratch database.
  static func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("passerelle-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}
