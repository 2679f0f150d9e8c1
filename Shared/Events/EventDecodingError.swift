/// Why an event (envelope or payload) could not be decoded, naming the field at fault.
///
/// `field` is a dotted path from the envelope's root: `"id"`, `"time"`, `"data.channel"`,
/// `"data.items.0.sku"`; `"$"` is the document itself (for example truncated JSON).
///
/// The field and every text in the reason echo input, and end up in logs and database text columns
/// (PostgreSQL refuses NUL in text, SQLite truncates at it): control characters in them (C0, DEL
/// and C1) are written as `\u0000`-style escapes, and the field and the values a reason quotes
/// are cut at ``maximumEcho`` characters (an extension name of a megabyte is not echoed whole),
/// on creation and on every change.
public struct EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What was wrong with the field.
  public enum Reason: Sendable, Equatable {
    /// The bytes are not one well-formed JSON document; the detail says what and where.
    case malformedJSON(String)
    /// A required field is absent (or `null`).
    case missing
    /// The field has the wrong JSON type; `expected` names the type that was wanted.
    case wrongType(expected: String)
    /// A channel outside the closed list in `Channel`.
    case unknownChannel(String)
    /// A timestamp that is not RFC 3339.
    case badTime(String)
    /// A `specversion` other than `"1.0"`.
    case badSpecVersion(String)
    /// Any other rule broken; the detail says which.
    case invalid(String)
  }

  /// Dotted path of the field at fault, `"$"` for the whole document; control characters escaped.
  public var field: String {
    didSet { field = Self.echo(field) }
  }
  /// What was wrong with it; control characters in its texts escaped.
  public var reason: Reason {
    didSet { reason = reason.escapingControlCharacters() }
  }

  /// Creates an error for `field`, escaping control characters in `field` and `reason`.
  public init(field: String, reason: Reason) {
    self.field = Self.echo(field)
    self.reason = reason.escapingControlCharacters()
  }

  /// The reason alone, e.g. `unknown channel "fax" (expected one of store, web, …)`.
  public var explanation: String {
    switch reason {
    case .malformedJSON(let detail): "malformed JSON: \(detail)"
    case .missing: "missing"
    case .wrongType(let expected): "wrong type (expected \(expected))"
    case .unknownChannel(let value):
      "unknown channel \"\(value)\" (expected one of \(Channel.allCases.map(\.rawValue).joined(separator: ", ")))"
    case .badTime(let value): "bad time \"\(value)\" (expected RFC 3339, e.g. 2026-11-24T10:00:00.123Z)"
    case .badSpecVersion(let value): "unsupported specversion \"\(value)\" (expected \"1.0\")"
    case .invalid(let detail): "invalid: \(detail)"
    }
  }

  /// A one-line explanation, e.g. `field "data.channel": unknown channel "fax" (expected one of store, web, …)`.
  public var description: String {
    "field \"\(field)\": \(explanation)"
  }

  /// Most characters of input one error text echoes; longer ones end in `…`.
  public static let maximumEcho = 200

  /// `text` as an error may echo it: control characters escaped, at most ``maximumEcho``
  /// characters.
  static func echo(_ text: String) -> String {
    let escaped = escapingControlCharacters(text)
    guard escaped.utf8.count > maximumEcho, escaped.count > maximumEcho else { return escaped }
    return escaped.prefix(maximumEcho) + "…"
  }

  /// `text` with each control character (U+0000–U+001F, U+007F–U+009F) written as `\u` and four
  /// lowercase hex digits; `text` itself, without a copy, in the usual case of none.
  static func escapingControlCharacters(_ text: String) -> String {
    guard CloudEvent.hasControlCharacter(text) else { return text }
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count + 5)
    for scalar in text.unicodeScalars {
      guard scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) else {
        escaped.unicodeScalars.append(scalar)
        continue
      }
      let hex = String(scalar.value, radix: 16)
      escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
    return escaped
  }
}

extension EventDecodingError.Reason {
  /// The same reason with control characters escaped in its text, and the input values it quotes
  /// cut at ``EventDecodingError/maximumEcho`` characters.
  fileprivate func escapingControlCharacters() -> Self {
    let escape = EventDecodingError.escapingControlCharacters
    let echo = EventDecodingError.echo
    return switch self {
    case .malformedJSON(let detail): .malformedJSON(escape(detail))
    case .missing: .missing
    case .wrongType(let expected): .wrongType(expected: escape(expected))
    case .unknownChannel(let value): .unknownChannel(echo(value))
    case .badTime(let value): .badTime(echo(value))
    case .badSpecVersion(let value): .badSpecVersion(echo(value))
    case .invalid(let detail): .invalid(escape(detail))
    }
  }
}
