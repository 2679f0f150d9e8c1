import Foundation

/// A CloudEvents 1.0 event in structured JSON mode, the envelope of every message on the bus.
///
/// Attribute names on the wire are the spec's (`datacontenttype`, `partitionkey`, …); Swift properties
/// use camel case. `decode(_:)` validates everything; the memberwise initialiser does not, so code
/// that builds events by hand should round-trip them through `decode` in its tests.
public struct CloudEvent: Sendable, Hashable {
  /// The only `specversion` accepted and written.
  public static let specVersion = "1.0"
  /// The `datacontenttype` written when none is given.
  public static let jsonContentType = "application/json"

  /// `id`: unique within `source`; the bus deduplicates on `source` + `id`.
  public var id: String
  /// `source`: a non-empty URI-reference naming the producer, e.g. `/passerelle/pos/store-0042`.
  public var source: String
  /// `type`: the versioned event type, e.g. `customer.identified.v1`.
  public var type: String
  /// `subject`: what the event is about within the source (an order id, a SKU), if useful.
  public var subject: String?
  /// `time`: when the occurrence happened; written in UTC with millisecond precision.
  public var time: Date?
  /// `datacontenttype`: the media type of `data`, `application/json` unless said otherwise.
  public var dataContentType: String
  /// `dataschema`: a URI of the schema `data` adheres to, if any.
  public var dataSchema: String?
  /// `data`: the payload; `.null` means no data and is not written.
  public var data: JSONValue
  /// `partitionkey` extension: the customer key, so one customer's events stay in order.
  public var partitionKey: String?
  /// `sequence` extension: the producer's ordering value, a string per the CloudEvents extension.
  public var sequence: String?
  /// `traceparent` extension: W3C trace context, `00-<32 hex>-<16 hex>-<2 hex>`.
  public var traceParent: String?
  /// Every other extension attribute, by its lowercase alphanumeric name; values are strings,
  /// booleans or integers in the `Int32` range (CloudEvents' types; decoding refuses others).
  public var extensions: [String: JSONValue]

  /// Creates an event; `time` defaults to none and `datacontenttype` to `application/json`.
  public init(
    id: String, source: String, type: String, subject: String? = nil, time: Date? = nil,
    dataContentType: String = CloudEvent.jsonContentType, dataSchema: String? = nil,
    data: JSONValue = .null, partitionKey: String? = nil, sequence: String? = nil,
    traceParent: String? = nil, extensions: [String: JSONValue] = [:]
  ) {
    self.id = id
    self.source = source
    self.type = type
    self.subject = subject
    self.time = time
    self.dataContentType = dataContentType
    self.dataSchema = dataSchema
    self.data = data
    self.partitionKey = partitionKey
    self.sequence = sequence
    self.traceParent = traceParent
    self.extensions = extensions
  }

  /// The `specversion` attribute, always `"1.0"`.
  public var specversion: String { Self.specVersion }

  /// The event as one JSON object, attributes and extensions at the top level.
  public var jsonValue: JSONValue {
    var members = extensions
    members.reserveCapacity(extensions.count + 12)
    members["specversion"] = .string(Self.specVersion)
    members["id"] = .string(id)
    members["source"] = .string(source)
    members["type"] = .string(type)
    members["datacontenttype"] = .string(dataContentType)
    if let subject { members["subject"] = .string(subject) }
    if let time { members["time"] = .string(EventTime.format(time)) }
    if let dataSchema { members["dataschema"] = .string(dataSchema) }
    if data != .null { members["data"] = data }
    if let partitionKey { members["partitionkey"] = .string(partitionKey) }
    if let sequence { members["sequence"] = .string(sequence) }
    if let traceParent { members["traceparent"] = .string(traceParent) }
    return .object(members)
  }

  /// The structured-mode JSON (`application/cloudevents+json`): compact, keys sorted, deterministic.
  public func encoded() -> [UInt8] {
    var writer = JSONWriter()
    writer.write(jsonValue)
    return writer.bytes
  }
}

extension CloudEvent: Codable {
  /// Decodes and validates an event nested in another Codable document.
  ///
  /// Validation failures are thrown as `EventDecodingError` (field paths from the event root).
  public init(from decoder: any Decoder) throws {
    self = try CloudEvent(validating: JSONValue(from: decoder))
  }

  /// Encodes the event as its structured-mode JSON object.
  public func encode(to encoder: any Encoder) throws {
    try jsonValue.encode(to: encoder)
  }
}
