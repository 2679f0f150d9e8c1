import Foundation

/// Decoding and validating the structured-mode envelope.
extension CloudEvent {
  /// Decodes one event from structured-mode JSON bytes, validating every attribute.
  ///
  /// Errors name the field: `"$"` for malformed JSON, `"specversion"`, `"id"`, `"time"`, … for the
  /// envelope. `data` is kept as JSON; decode it with `payload(as:)`.
  public static func decode(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> CloudEvent {
    // The closures of the standard library rethrow untyped errors: carry the typed one out in a Result.
    let decoded = bytes.withContiguousStorageIfAvailable { buffer in
      Result { () throws(EventDecodingError) in try decode(buffer, skippingData: false) }
    }
    return try
      (decoded
      ?? Array(bytes).withUnsafeBufferPointer { buffer in
        Result { () throws(EventDecodingError) in try decode(buffer, skippingData: false) }
      }).get()
  }

  /// Decodes and validates the envelope only, for the bus: `data` is checked to be well-formed
  /// JSON but not built (the result's ``data`` is `.null`; the bus stores the original bytes).
  ///
  /// Errors are those of ``decode(_:)``, duplicate names inside `data` included, so the bus never
  /// stores an event that consumers cannot decode.
  public static func decodeEnvelope(_ bytes: some ContiguousBytes) throws(EventDecodingError) -> CloudEvent {
    try bytes.withUnsafeBytes { raw in
      Result { () throws(EventDecodingError) in
        try decode(raw.assumingMemoryBound(to: UInt8.self), skippingData: true)
      }
    }.get()
  }

  /// Reads the top-level members straight into ``Attributes``, in document order and without a
  /// dictionary; a document that is not an object gets the error ``init(validating:)`` gives it.
  ///
  /// A skipped `data` is validated as the empty value of its JSON type the parser gives back, then
  /// dropped.
  private static func decode(_ buffer: UnsafeBufferPointer<UInt8>, skippingData: Bool)
    throws(EventDecodingError)
    -> CloudEvent
  {
    var attributes = Attributes()
    let skipped = skippingData ? "data" : nil
    guard try JSONParser.parseMembers(buffer, skippingMember: skipped, { attributes.add($0, $1) }) else {
      return try CloudEvent(validating: JSONParser.parseDocument(buffer, skippingMember: skipped))
    }
    return try CloudEvent(attributes, keepingData: !skippingData)
  }

  /// Builds an event from an already parsed JSON object, validating every attribute.
  public init(validating json: JSONValue) throws(EventDecodingError) {
    guard case .object(let members) = json else {
      throw EventDecodingError(field: "$", reason: .wrongType(expected: "object"))
    }
    var attributes = Attributes()
    // By name, so that an object with two bad extensions always gets the same error.
    for (name, value) in members.sorted(by: { $0.key < $1.key }) { _ = attributes.add(name, value) }
    try self.init(attributes, keepingData: true)
  }

  /// Validates collected attributes in a fixed order, so the same event always gets the same error;
  /// without `keepingData`, `data` is validated, then left out (`.null`).
  private init(_ attributes: Attributes, keepingData: Bool) throws(EventDecodingError) {
    let extensions = attributes.extensions
    let badExtension = attributes.badExtension
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
    let subject = try Self.optionalString("subject", attributes.subject)
    let dataContentType =
      try Self.optionalString("datacontenttype", attributes.dataContentType) ?? Self.jsonContentType
    let dataSchema = try Self.optionalString("dataschema", attributes.dataSchema)
    if let dataSchema, !Self.isAbsoluteURI(dataSchema) {
      throw EventDecodingError(
        field: "dataschema",
        reason: .invalid(
          "must be an absolute URI, with a scheme and no spaces, e.g. https://example.com/order.json"))
    }
    let data = attributes.data ?? .null
    // The JSON event format (3.1): data of any other media type is a string (or data_base64).
    if data != .null, data.stringValue == nil, !Self.declaresJSON(dataContentType) {
      throw EventDecodingError(
        field: "data",
        reason: .invalid(
          "must be a string: datacontenttype \"\(dataContentType)\" is not JSON (*/json or */*+json)"))
    }
    self.init(
      id: id, source: source, type: type, subject: subject, time: time, dataContentType: dataContentType,
      dataSchema: dataSchema, data: keepingData ? data : .null,
      partitionKey: try Self.optionalString("partitionkey", attributes.partitionKey),
      sequence: try Self.optionalString("sequence", attributes.sequence), traceParent: traceParent,
      extensions: extensions)
  }

  /// The members of an event object, sorted into the attributes the spec defines or this schema
  /// models and the extensions, as they are read.
  private struct Attributes {
    var specVersion, id, source, type, subject, time, dataContentType, dataSchema: JSONValue?
    var data, partitionKey, sequence, traceParent: JSONValue?
    var hasBase64Data = false
    var extensions: [String: JSONValue] = [:]
    /// The first extension, in reading order, that is badly named or has a value outside
    /// CloudEvents' types (a string, a boolean, or an integer in 32 bits).
    var badExtension: EventDecodingError?
    /// Every name not held above (extensions, including `null` and bad ones), for duplicates: a
    /// set, so that an event of a megabyte of extension names costs linear time, not quadratic.
    var otherNames: Set<String> = []

    /// Records one member; returns `false` if its name was already recorded.
    mutating func add(_ name: String, _ value: JSONValue) -> Bool {
      func set(_ slot: inout JSONValue?) -> Bool {
        guard slot == nil else { return false }
        slot = value
        return true
      }
      switch name {
      case "specversion": return set(&specVersion)
      case "id": return set(&id)
      case "source": return set(&source)
      case "type": return set(&type)
      case "subject": return set(&subject)
      case "time": return set(&time)
      case "datacontenttype": return set(&dataContentType)
      case "dataschema": return set(&dataSchema)
      case "data": return set(&data)
      case "partitionkey": return set(&partitionKey)
      case "sequence": return set(&sequence)
      case "traceparent": return set(&traceParent)
      case "data_base64":
        guard !hasBase64Data else { return false }
        hasBase64Data = true
        return true
      default:
        guard otherNames.insert(name).inserted else { return false }
        guard badExtension == nil else { return true }
        guard !name.isEmpty,
          name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
        else {
          badExtension = EventDecodingError(
            field: name, reason: .invalid("extension names are lowercase letters and digits"))
          return true
        }
        switch value {
        case .null: break
        case .array, .object:
          badExtension = EventDecodingError(
            field: name, reason: .wrongType(expected: "string, integer or boolean"))
        case .string(let text) where CloudEvent.hasControlCharacter(text):
          badExtension = EventDecodingError(field: name, reason: .invalid(CloudEvent.controlCharacterReason))
        case .bool, .string, .integer(Int64(Int32.min)...Int64(Int32.max)): extensions[name] = value
        case .integer, .double:
          badExtension = EventDecodingError(field: name, reason: .invalid(CloudEvent.integerReason(name)))
        }
        return true
      }
    }
  }

  /// Whether `text` holds a C0 or C1 control character (U+0000–U+001F, U+007F–U+009F).
  ///
  /// Scans the UTF-8 bytes (every envelope's strings pass here, on the bus's ingest path): C0 and
  /// DEL are single bytes, and C1 is 0xC2 followed by 0x80–0x9F.
  static func hasControlCharacter(_ text: String) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
      for index in bytes.indices {
        let byte = bytes[index]
        if byte < 0x20 || byte == 0x7F { return true }
        if byte == 0xC2, index + 1 < bytes.count, bytes[index + 1] <= 0x9F { return true }
      }
      return false
    }
  }

  /// Whether the media type `contentType` declares JSON data, as the JSON event format defines it:
  /// without its parameters, `*/json` or `*/*+json`, in any case (`application/json`, `text/json`,
  /// `application/cloudevents+json; charset=utf-8`).
  static func declaresJSON(_ contentType: String) -> Bool {
    if contentType == jsonContentType { return true }  // nearly every event, without a copy
    let mediaType = contentType.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces).lowercased()
    guard let slash = mediaType.firstIndex(of: "/"), slash != mediaType.startIndex else { return false }
    let subtype = mediaType[mediaType.index(after: slash)...]
    return subtype == "json" || subtype.hasSuffix("+json")
  }

  /// Whether `text` is an absolute URI (RFC 3986, 4.3, which CloudEvents' URI type requires): a
  /// scheme (a letter, then letters, digits, `+`, `-`, `.`) and a colon, and no spaces.
  static func isAbsoluteURI(_ text: String) -> Bool {
    func isLetter(_ byte: UInt8) -> Bool {
      (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }
    let utf8 = text.utf8
    guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")), let first = utf8.first, isLetter(first) else {
      return false
    }
    let isSchemeByte = { (byte: UInt8) in
      isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "+")
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
    return utf8[utf8.index(after: utf8.startIndex)..<colon].allSatisfy(isSchemeByte)
      && !utf8.contains { $0 <= 0x20 || $0 == 0x7F }
  }

  static let controlCharacterReason = "control characters are not allowed in CloudEvents strings"

  /// Why a number is refused in the extension `name`: CloudEvents has no floating point, and its
  /// Integer is 32-bit, so other numbers could not be carried by every format and SDK unchanged.
  static func integerReason(_ name: String) -> String {
    "extension \"\(name)\" is a number but not a CloudEvents Integer (a whole number from \(Int32.min) to "
      + "\(Int32.max), without fraction or exponent); send it as a string"
  }

  private static func requiredString(_ name: String, _ value: JSONValue?) throws(EventDecodingError) -> String
  {
    guard let text = try optionalString(name, value) else {
      throw EventDecodingError(field: name, reason: .missing)
    }
    return text
  }

  /// A string attribute, `nil` when absent or `null`; present strings must not be empty, nor
  /// hold a control character (CloudEvents' String type excludes them).
  private static func optionalString(_ name: String, _ value: JSONValue?) throws(EventDecodingError)
    -> String?
  {
    switch value {
    case nil, .null: return nil
    case .string(let text):
      guard !text.isEmpty else {
        throw EventDecodingError(field: name, reason: .invalid("must not be empty"))
      }
      guard !hasControlCharacter(text) else {
        throw EventDecodingError(field: name, reason: .invalid(controlCharacterReason))
      }
      return text
    default: throw EventDecodingError(field: name, reason: .wrongType(expected: "string"))
    }
  }
}
