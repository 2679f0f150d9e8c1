import Foundation

/// Decoding and validating the structured-mode envelope.
extension CloudEvent {
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
    // One pass sorts the members into attributes and extensions (no lookup per attribute);
    // the checks below then run in a fixed order, so the same event always gets the same error.
    var attributes = Attributes()
    var extensions: [String: JSONValue] = [:]
    var badExtension: EventDecodingError?
    for (name, value) in members {
      switch name {
      case "specversion": attributes.specVersion = value
      case "id": attributes.id = value
      case "source": attributes.source = value
      case "type": attributes.type = value
      case "subject": attributes.subject = value
      case "time": attributes.time = value
      case "datacontenttype": attributes.dataContentType = value
      case "dataschema": attributes.dataSchema = value
      case "data": attributes.data = value
      case "data_base64": attributes.hasBase64Data = true
      case "partitionkey": attributes.partitionKey = value
      case "sequence": attributes.sequence = value
      case "traceparent": attributes.traceParent = value
      default:
        guard badExtension == nil else { continue }
        guard !name.isEmpty,
          name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
        else {
          badExtension = EventDecodingError(
            field: name, reason: .invalid("extension names are lowercase letters and digits"))
          continue
        }
        switch value {
        case .null: continue
        case .array, .object:
          badExtension = EventDecodingError(
            field: name, reason: .wrongType(expected: "string, number or boolean"))
        case .bool, .integer, .double, .string: extensions[name] = value
        }
      }
    }
    let version = try Self.requiredString("specversion", attributes.specVersion)
    guard version == Self.specVersion else {
      throw EventDecodingError(field: "specversion", reason: .badSpecVersion(version))
    }
    let id = try Self.requiredString("id", attributes.id)
    let source = try Self.requiredString("source", attributes.source)
    guard !source.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
      throw EventDecodingError(
        field: "source", reason: .invalid("a URI-reference has no spaces or control characters"))
    }
    let type = try Self.requiredString("type", attributes.type)
    var time: Date?
    if let text = try Self.optionalString("time", attributes.time) {
      guard let parsed = EventTime.parse(text) else {
        throw EventDecodingError(field: "time", reason: .badTime(text))
      }
      time = parsed
    }
    let traceParent = try Self.optionalString("traceparent", attributes.traceParent)
    if let traceParent, !TraceParent.isValid(traceParent) {
      throw EventDecodingError(
        field: "traceparent",
        reason: .invalid("expected 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"))
    }
    if attributes.hasBase64Data {
      throw EventDecodingError(
        field: "data_base64", reason: .invalid("binary data is not supported; send JSON data"))
    }
    if let badExtension { throw badExtension }
    self.init(
      id: id, source: source, type: type, subject: try Self.optionalString("subject", attributes.subject),
      time: time,
      dataContentType: try Self.optionalString("datacontenttype", attributes.dataContentType)
        ?? Self.jsonContentType,
      dataSchema: try Self.optionalString("dataschema", attributes.dataSchema),
      data: attributes.data ?? .null,
      partitionKey: try Self.optionalString("partitionkey", attributes.partitionKey),
      sequence: try Self.optionalString("sequence", attributes.sequence), traceParent: traceParent,
      extensions: extensions)
  }

  /// The members of an event object that the spec defines or this schema models.
  private struct Attributes {
    var specVersion, id, source, type, subject, time, dataContentType, dataSchema: JSONValue?
    var data, partitionKey, sequence, traceParent: JSONValue?
    var hasBase64Data = false
  }

  private static func requiredString(_ name: String, _ value: JSONValue?) throws(EventDecodingError) -> String
  {
    guard let text = try optionalString(name, value) else {
      throw EventDecodingError(field: name, reason: .missing)
    }
    return text
  }

  /// A string attribute, `nil` when absent or `null`; present strings must not be empty.
  private static func optionalString(_ name: String, _ value: JSONValue?) throws(EventDecodingError)
    -> String?
  {
    switch value {
    case nil, .null: return nil
    case .string(let text):
      guard !text.isEmpty else {
        throw EventDecodingError(field: name, reason: .invalid("must not be empty"))
      }
      return text
    default: throw EventDecodingError(field: name, reason: .wrongType(expected: "string"))
    }
  }
}
