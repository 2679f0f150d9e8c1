/// Why an event (envelope or payload) could not be decoded, naming the field at fault.
///
/// `field` is a dotted path from the envelope's root: `"id"`, `"time"`, `"data.channel"`,
/// `"data.items.0.sku"`; `"$"` is the document itself (for example truncated JSON).
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

  /// Dotted path of the field at fault, `"$"` for the whole document.
  public var field: String
  /// What was wrong with it.
  public var reason: Reason

  /// Creates an error for `field`.
  public init(field: String, reason: Reason) {
    self.field = field
    self.reason = reason
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
}
