public import ArgumentParser

/// One setting of a service: a command-line flag, a `PASSERELLE_*` environment variable and a default.
///
/// Precedence is flag, then environment variable, then default. Declare the flag as an optional
/// `String` so that every bad value, from a flag or the environment, reports the same way:
///
/// ```swift
/// extension Setting where Value == String {
///   static let busEndpoint = Setting(
///     flag: "bus-endpoint", variable: "PASSERELLE_BUS_ENDPOINT",
///     summary: "ZeroMQ endpoint of the bus", default: "tcp://127.0.0.1:5555", parser: .string)
/// }
/// @Option(name: .customLong(Setting.busEndpoint.flag), help: Setting.busEndpoint.help) var busEndpoint: String?
/// ```
public struct Setting<Value: Sendable>: Sendable {
  /// The long flag name without dashes, e.g. `http-port`.
  public var flag: String
  /// The environment variable, e.g. `PASSERELLE_HTTP_PORT`.
  public var variable: String
  /// What the setting does, the first words of its `--help` line.
  public var summary: String
  /// The value used when neither the flag nor the variable is given.
  public var defaultValue: Value
  /// Parses and describes values.
  public var parser: SettingParser<Value>
  /// Whether values are secrets (keys, passwords): errors then show `<redacted>` instead of the value.
  public var isSecret: Bool

  /// Declares a setting.
  public init(
    flag: String,
    variable: String,
    summary: String,
    default defaultValue: Value,
    parser: SettingParser<Value>,
    isSecret: Bool = false
  ) {
    self.flag = flag
    self.variable = variable
    self.summary = summary
    self.defaultValue = defaultValue
    self.parser = parser
    self.isSecret = isSecret
  }

  /// The `--help` entry: `HTTP port … (env: PASSERELLE_HTTP_PORT, default: 8080)`.
  public var help: ArgumentHelp {
    ArgumentHelp(
      "\(self.summary) (env: \(self.variable), default: \(self.parser.describe(self.defaultValue)))",
      valueName: self.parser.valueName
    )
  }

  /// The flag's `@Option` name, `--<flag>`.
  public var name: NameSpecification { .customLong(self.flag) }

  /// Resolves the value: the flag if given, else the environment variable if set, else the default.
  ///
  /// - Throws: ``ConfigurationError`` naming the flag or the variable whose text does not parse.
  public func resolve(flag: String?, environment: [String: String]) throws(ConfigurationError) -> Value {
    if let flag {
      return try self.parse(flag, source: "--\(self.flag)")
    }
    if let text = environment[self.variable] {
      return try self.parse(text, source: self.variable)
    }
    return self.defaultValue
  }

  private func parse(_ text: String, source: String) throws(ConfigurationError) -> Value {
    guard let value = self.parser.parse(text) else {
      throw ConfigurationError(
        variable: source,
        value: self.isSecret ? "<redacted>" : text,
        reason: self.parser.reason
      )
    }
    return value
  }
}
