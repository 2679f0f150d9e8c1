import ArgumentParser
import PasserelleRuntime
import Synchronization

/// The defaults of a made-up service, as a service declares them.
enum ExampleDefaults: RuntimeDefaults {
  static let service = "passerelle-example"
  static let httpPort = 8080
}

extension Setting where Value == String? {
  /// A service-specific secret, declared the way services declare theirs.
  static var curveSecretKey: Self {
    Self(
      flag: "curve-secret-key", variable: "PASSERELLE_CURVE_SECRET_KEY",
      summary: "CURVE secret key of this service", default: nil, parser: .optional(.string), isSecret: true)
  }
}

/// A command shaped like a service's `main`.
struct ExampleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: ExampleDefaults.service)

  @OptionGroup var runtime: RuntimeOptions<ExampleDefaults>

  @Option(name: Setting.curveSecretKey.name, help: Setting.curveSecretKey.help)
  var curveSecretKey: String?
}

/// Collects the lines a log handler writes.
final class LogLines: Sendable {
  private let lines = Mutex<[String]>([])

  var all: [String] { self.lines.withLock { $0 } }

  func append(_ line: String) {
    self.lines.withLock { $0.append(line) }
  }
}
