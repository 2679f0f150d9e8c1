import Foundation

/// Decoding and validating the structured-mode envelope.
extension CloudEvent {
  /// Attribute names the spec defines or this schema models; everything else is an extension.
  private static let knownAttributes: Set<String> = [
    "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data",
    "data_base64", "partitionkey", "sequence", "traceparent",
  ]

  /// Decodes one event from structured-mode JSON bytes, validating every attribute.
  ///
  /// Errors name the field: `"$"` for malformed JSON, `"specversion"`, `"id"`, `"time"`, … for the
  /// envelope. `data` is kept as JSON; decode it with `payload(as:)`.
  public static func decode(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> CloudEvent {
    try CloudEvent(validating: JSONValue.parse(bytes))
  }

  /// Decodes and validates the envelope only, for the bus: `data` is checked to be well-formed
  /// JSON but not built (the result's ``data`` is `.null`; the bus stores the original bytes).
  ///
  /// Errors are those of ``decode(_:)``, except that duplicate names inside `data` are not checked.
  public static func decodeEnvelope(_ bytes: [UInt8]) throws(EventDecodingError) -> CloudEvent {
    let json = try bytes.withUnsafeBufferPointer { buffer throws(EventDecodingError) in
      try JSONParser.parseDocument(buffer, skippingMember: "data")
    }
    return try CloudEvent(validating: json)
  }

  /// Builds an event from an already parsed JSON object, validating every attribute.
  public init(validating json: JSONValue) throws(EventDecodingError) {
    guard case .object(let members) = json else {
      throw EventDecodingError(field: "$", reason: .wrongType(expected: "object"))
    }
    let version = try Self.requiredString("specversion", in: members)
    guard version == Self.specVersion else {
      throw EventDecodingError(field: "specversion", reason: .badSpecVersion(version))
    }
    let id = try Self.requiredString("id", in: members)
    let source = try Self.requiredString("source", in: members)
    guard !source.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
      throw EventDecodingError(
        field: "source", reason: .invalid("a URI-reference has no spaces or control characters"))
    }
    let type = try Self.requiredString("type", in: members)
    var time: Date?
    if let text = try Self.optionalString("time", in: members) {
      guard let parsed = EventTime.parse(text) else {
        throw EventDecodingError(field: "time", reason: .badTime(text))
      }
      time = parsed
    }
    let traceParent = try Self.optionalString("traceparent", in: members)
    if let traceParent, !TraceParent.isValid(traceParent) {
      throw EventDecodingError(
        field: "traceparent",
        reason: .invalid("expected 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"))
    }
    if members["data_base64"] != nil {
      throw EventDecodingError(
        field: "data_base64", reason: .invalid("binary data is not supported; send JSON data"))
    }
    var extensions: [String: JSONValue] = [:]
    for (name, value) in members where !Self.knownAttributes.contains(name) {
      guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
      else {
        throw EventDecodingError(
          field: name, reason: .invalid("extension names are lowercase letters and digits"))
      }
      switch value {
      case .null: continue
      case .array, .object:
        throw EventDecodingError(field: name, reason: .wrongType(expected: "string, number or boolean"))
      case .bool, .integer, .double, .string: extensions[name] = value
      }
    }
    self.init(
      id: id, source: source, type: type, subject: try Self.optionalString("subject", in: members),
      time: time,
      dataContentType: try Self.optionalString("datacontenttype", in: members) ?? Self.jsonContentType,
      dataSchema: try Self.optionalString("dataschema", in: members), data: members["data"] ?? .null,
      partitionKey: try Self.optionalString("partitionkey", in: members),
      sequence: try Self.optionalString("sequence", in: members), traceParent: traceParent,
      extensions: extensions)
  }

  private static func requiredString(_ name: String, in members: [String: JSONValue])
    throws(EventDecodingError)
    -> String
  {
    guard let value = try optionalString(name, in: members) else {
      throw EventDecodingError(field: name, reason: .missing)
    }
    return value
  }

  /// A string attribute, `nil` when absent or `null`; present strings must not be empty.
  private static func optionalString(_ name: String, in members: [String: JSONValue])
    throws(EventDecodingError)
    -> String?
  {
    switch members[name] {
    case nil, .null: return nil
    case .string(let value):
      guard !value.isEmpty else {
        throw EventDecodingError(field: name, reason: .invalid("must not be empty"))
      }
      return value
    default: throw EventDecodingError(field: name, reason: .wrongType(expected: "string"))
    }
  }
}
