import Foundation

/// A JSON value as carried in an event's `data` and extension attributes.
///
/// Numbers keep their JSON form: a number written without fraction or exponent that fits in 64 bits
/// is `.integer`, every other number is `.double`, so money in minor units and sequence counters
/// never pass through floating point.
public enum JSONValue: Sendable, Hashable {
  /// JSON `null`.
  case null
  /// `true` or `false`.
  case bool(Bool)
  /// A number written as an integer that fits in `Int64`.
  case integer(Int64)
  /// Any other number (with a fraction or exponent, or too large for `Int64`).
  case double(Double)
  /// A string.
  case string(String)
  /// An array.
  case array([JSONValue])
  /// An object; key order is not kept (encoding sorts keys).
  case object([String: JSONValue])

  /// Parses one JSON document (RFC 8259) from UTF-8 bytes.
  ///
  /// Errors carry the field `"$"` and reason `malformedJSON` with the byte offset of the problem.
  public static func parse(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> JSONValue {
    let result: Result<JSONValue, EventDecodingError>? = bytes.withContiguousStorageIfAvailable {
      buffer in
      Result { () throws(EventDecodingError) in try JSONParser.parseDocument(buffer) }
    }
    if let result { return try result.get() }
    let copy = Array(bytes)
    return try copy.withUnsafeBufferPointer { buffer throws(EventDecodingError) in
      try JSONParser.parseDocument(buffer)
    }
  }

  /// The compact JSON text of this value, with object keys sorted so equal values encode equally.
  public func encoded() -> [UInt8] {
    var writer = JSONWriter()
    writer.write(self)
    return writer.bytes
  }

  /// The string, if this value is one.
  public var stringValue: String? {
    if case .string(let value) = self { value } else { nil }
  }

  /// The members, if this value is an object.
  public var objectValue: [String: JSONValue]? {
    if case .object(let value) = self { value } else { nil }
  }
}

extension JSONValue: Codable {
  /// Decodes any JSON value; integers that fit in `Int64` stay integers.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .double(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  /// Encodes the value as the matching JSON value.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .null: try container.encodeNil()
    case .bool(let value): try container.encode(value)
    case .integer(let value): try container.encode(value)
    case .double(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    }
  }
}
