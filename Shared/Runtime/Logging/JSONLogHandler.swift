public import Foundation
public import Logging

/// A swift-log handler writing one JSON object per line:
/// `{"ts":"2026-11-24T10:00:00.123Z","level":"info","service":"passerelle-bus","msg":"…",…metadata}`.
///
/// Metadata keys follow the fixed keys; one that collides with them is written with a leading `_`.
/// `error` is fixed only when the message carries an error of its own (swift-log's `error:`);
/// otherwise the `error` metadata that call sites attach is written as `error`.
public struct JSONLogHandler: LogHandler {
  /// Receives each finished line, newline included.
  public typealias Output = @Sendable (String) -> Void

  /// The lowest level this handler writes.
  public var logLevel: Logger.Level
  /// Metadata attached to every line of this logger.
  public var metadata: Logger.Metadata = [:]
  /// Metadata added to every line from the task's context (e.g. trace ids).
  public var metadataProvider: Logger.MetadataProvider?

  private let service: String
  private let output: Output

  private static let reservedKeys: Set<String> = ["ts", "level", "service", "msg"]
  private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

  /// Creates a handler for `service` that writes to stderr, or to `output` (for tests).
  public init(
    service: String,
    logLevel: Logger.Level = .info,
    metadataProvider: Logger.MetadataProvider? = nil,
    output: @escaping Output = Self.standardError
  ) {
    self.service = service
    self.logLevel = logLevel
    self.metadataProvider = metadataProvider
    self.output = output
  }

  /// Writes a line to stderr in one write, so lines from concurrent tasks do not interleave.
  public static let standardError: Output = { line in
    FileHandle.standardError.write(Data(line.utf8))
  }

  /// Gets or sets one metadata value of this logger.
  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { self.metadata[key] }
    set { self.metadata[key] = newValue }
  }

  /// Formats and writes one line (swift-log calls this for messages at or above ``logLevel``).
  public func log(event: LogEvent) {
    var merged = self.metadata
    if let provided = self.metadataProvider?.get() {
      merged.merge(provided) { _, new in new }
    }
    if let extra = event.metadata {
      merged.merge(extra) { _, new in new }
    }
    var line = "{"
    line += "\"ts\":" + Self.quoted(Self.timestampStyle.format(Date()))
    line += ",\"level\":" + Self.quoted(event.level.rawValue)
    line += ",\"service\":" + Self.quoted(self.service)
    line += ",\"msg\":" + Self.quoted(event.message.description)
    if let error = event.error {
      line += ",\"error\":" + Self.quoted(String(describing: error))
    }
    for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
      let reserved = Self.reservedKeys.contains(key) || (key == "error" && event.error != nil)
      let name = reserved ? "_" + key : key
      line += "," + Self.quoted(name) + ":" + Self.json(value)
    }
    line += "}\n"
    self.output(line)
  }

  private static func json(_ value: Logger.MetadataValue) -> String {
    switch value {
    case .string(let string): quoted(string)
    case .stringConvertible(let convertible): quoted(convertible.description)
    case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
    case .dictionary(let values):
      "{"
        + values.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + json($0.value) }.joined(
          separator: ",")
        + "}"
    }
  }

  /// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
  static func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20:
        result +=
          "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
          + String(scalar.value, radix: 16)
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }
}
