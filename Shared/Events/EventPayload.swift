import Foundation

/// A typed, versioned event payload: the `data` of one event type in the catalogue.
///
/// Within a version, payloads only gain optional fields; anything else is a new type with the next
/// version suffix (see docs/EVENTS.md). Timestamps inside payloads use the envelope's RFC 3339 format.
public protocol EventPayload: Codable, Sendable, Hashable {
  /// The CloudEvents `type` this payload travels under, e.g. `customer.identified.v1`.
  static var eventType: String { get }
}

extension CloudEvent {
  /// Creates an event carrying `payload`: sets `type` from the payload, `time` (now, to the
  /// millisecond, unless given) and `datacontenttype` `application/json`.
  ///
  /// Throws `EncodingError` only if the payload cannot be represented in JSON (a NaN, say).
  public init<Payload: EventPayload>(
    id: String = UUID().uuidString.lowercased(), source: String, subject: String? = nil,
    time: Date = Date(), partitionKey: String?, sequence: String? = nil, traceParent: String? = nil,
    payload: Payload
  ) throws {
    let encoded = try PayloadCoding.encoder.encode(payload)
    self.init(
      id: id, source: source, type: Payload.eventType, subject: subject,
      time: EventTime.truncatedToMilliseconds(time), data: try JSONValue.parse(encoded),
      partitionKey: partitionKey, sequence: sequence, traceParent: traceParent)
  }

  /// Decodes `data` as `Payload`, checking that `type` is `Payload.eventType`.
  ///
  /// Errors name the field as a path under `data` (`data.items.0.quantity`); an unknown channel
  /// gives `unknownChannel`, a bad timestamp `badTime`. Unknown fields are ignored (newer producers).
  public func payload<Payload: EventPayload>(as payloadType: Payload.Type) throws(EventDecodingError)
    -> Payload
  {
    guard type == Payload.eventType else {
      throw EventDecodingError(
        field: "type", reason: .invalid("expected \(Payload.eventType), found \(type)"))
    }
    guard data != .null else { throw EventDecodingError(field: "data", reason: .missing) }
    do {
      return try PayloadCoding.decoder.decode(Payload.self, from: Data(data.encoded()))
    } catch {
      throw PayloadCoding.fieldError(from: error)
    }
  }
}

/// A decoding failure raised inside a payload's `init(from:)`, carrying where it happened.
struct PayloadFieldError: Error {
  /// The coding path at the failure, below `data`.
  let codingPath: [any CodingKey]
  /// What was wrong.
  let reason: EventDecodingError.Reason
}

/// The JSON coders for payloads and the translation of their errors into `EventDecodingError`.
enum PayloadCoding {
  /// Encodes dates as `EventTime.format` does.
  static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .custom { date, encoder in
      var container = encoder.singleValueContainer()
      try container.encode(EventTime.format(date))
    }
    return encoder
  }()

  /// Decodes dates with `EventTime.parse`, failing with `badTime`.
  static let decoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .custom { decoder in
      let text = try decoder.singleValueContainer().decode(String.self)
      guard let date = EventTime.parse(text) else {
        throw PayloadFieldError(codingPath: decoder.codingPath, reason: .badTime(text))
      }
      return date
    }
    return decoder
  }()

  /// Maps an error from `JSONDecoder` to a field-named `EventDecodingError` under `data`.
  static func fieldError(from error: any Error) -> EventDecodingError {
    if let error = error as? PayloadFieldError {
      return EventDecodingError(field: path(error.codingPath), reason: error.reason)
    }
    guard let error = error as? DecodingError else {
      return EventDecodingError(field: "data", reason: .invalid(String(describing: error)))
    }
    switch error {
    case .keyNotFound(let key, let context):
      return EventDecodingError(field: path(context.codingPath + [key]), reason: .missing)
    case .valueNotFound(_, let context):
      return EventDecodingError(field: path(context.codingPath), reason: .missing)
    case .typeMismatch(let type, let context):
      return EventDecodingError(
        field: path(context.codingPath), reason: .wrongType(expected: jsonTypeName(type)))
    case .dataCorrupted(let context):
      return EventDecodingError(field: path(context.codingPath), reason: .invalid(context.debugDescription))
    @unknown default:
      return EventDecodingError(field: "data", reason: .invalid(String(describing: error)))
    }
  }

  /// `data` followed by each key, array indices as numbers: `data.items.0.sku`.
  private static func path(_ codingPath: [any CodingKey]) -> String {
    codingPath.reduce("data") { path, key in
      path + "." + (key.intValue.map(String.init) ?? key.stringValue)
    }
  }

  /// The JSON type a Swift type is read from, for `wrongType(expected:)`.
  private static func jsonTypeName(_ type: Any.Type) -> String {
    let name = String(describing: type)
    switch name {
    case "String": return "string"
    case "Bool": return "boolean"
    case "Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64":
      return "integer"
    case "Double", "Float": return "number"
    default:
      if name.hasPrefix("Dictionary") { return "object" }
      if name.hasPrefix("Array") { return "array" }
      return name
    }
  }
}
