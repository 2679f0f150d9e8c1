/// How a ``Setting`` turns text from a flag or an environment variable into a value, and back for `--help`.
public struct SettingParser<Value: Sendable>: Sendable {
  /// The placeholder shown in `--help`, e.g. `port` in `--http-port <port>`.
  public var valueName: String
  /// Why a value was rejected, e.g. `not a port number (0-65535)`.
  public var reason: String
  /// Parses the text; `nil` rejects it with ``reason``.
  public var parse: @Sendable (String) -> Value?
  /// Renders a value (the default) for `--help`.
  public var describe: @Sendable (Value) -> String

  /// Creates a parser from its parts.
  public init(
    valueName: String,
    reason: String,
    parse: @escaping @Sendable (String) -> Value?,
    describe: @escaping @Sendable (Value) -> String = { "\($0)" }
  ) {
    self.valueName = valueName
    self.reason = reason
    self.parse = parse
    self.describe = describe
  }
}

extension SettingParser where Value == String {
  /// Any non-empty text.
  public static var string: Self {
    Self(valueName: "text", reason: "must not be empty", parse: { $0.isEmpty ? nil : $0 })
  }
}

extension SettingParser where Value == Int {
  /// A TCP port; 0 asks the system for any free port.
  public static var port: Self {
    Self(
      valueName: "port", reason: "not a port number (0-65535)",
      parse: { Int($0).flatMap { (0...65535).contains($0) ? $0 : nil } })
  }

  /// A whole number within `range`, named `valueName` in `--help`.
  public static func integer(in range: ClosedRange<Int>, valueName: String = "n") -> Self {
    Self(
      valueName: valueName,
      reason: "not a whole number in \(range.lowerBound)-\(range.upperBound)",
      parse: { Int($0).flatMap { range.contains($0) ? $0 : nil } }
    )
  }
}

extension SettingParser where Value: CaseIterable & RawRepresentable<String> {
  /// One of the enumeration's raw values, e.g. `json` or `text`.
  public static var oneOf: Self {
    let names = Value.allCases.map(\.rawValue)
    return Self(
      valueName: names.joined(separator: "|"),
      reason: "not one of \(names.joined(separator: ", "))",
      parse: { Value(rawValue: $0) },
      describe: { $0.rawValue }
    )
  }
}

extension SettingParser {
  /// The `wrapped` parser for a setting that may stay unset (default `nil`, shown as `none`).
  public static func optional<Wrapped>(_ wrapped: SettingParser<Wrapped>) -> Self where Value == Wrapped? {
    Self(
      valueName: wrapped.valueName,
      reason: wrapped.reason,
      parse: { wrapped.parse($0).map(Optional.some) },
      describe: { $0.map(wrapped.describe) ?? "none" }
    )
  }
}

extension SettingParser where Value == Bool {
  /// `true`/`false` (also `1`/`0`, `yes`/`no`).
  public static var boolean: Self {
    Self(
      valueName: "true|false", reason: "not true or false",
      parse: { text in
        switch text.lowercased() {
        case "true", "1", "yes": true
        case "false", "0", "no": false
        default: nil
        }
      })
  }
}
