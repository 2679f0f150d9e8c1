import Foundation
import PasserelleEvents
import Testing

/// Bad input fails with the field at fault and the reason, never a crash or a vague message.
@Suite struct MalformedInputTests {
  static let valid = #"""
    {"specversion":"1.0","id":"evt-9","source":"/passerelle/pos/store-0042","type":"customer.identified.v1",
     "time":"2026-11-24T10:00:00.123Z","partitionkey":"cus_1",
     "data":{"customerKey":"cus_1","identities":[{"kind":"loyaltyCard","value":"2900012345678"}],
             "channel":"store","storeId":"store-0042","isNewCustomer":false}}
    """#

  /// `valid` with one substring replaced.
  static func variant(_ original: String, _ replacement: String) -> [UInt8] {
    Array(valid.replacingOccurrences(of: original, with: replacement).utf8)
  }

  /// The error `body` throws, or `nil` if it succeeds.
  static func caught(_ body: () throws(EventDecodingError) -> Void) -> EventDecodingError? {
    do {
      try body()
      return nil
    } catch {
      return error
    }
  }

  static func envelopeError(_ bytes: [UInt8]) -> EventDecodingError? {
    caught { () throws(EventDecodingError) in _ = try CloudEvent.decode(bytes) }
  }

  static func payloadError(_ bytes: [UInt8]) throws -> EventDecodingError? {
    let event = try CloudEvent.decode(bytes)
    return caught { () throws(EventDecodingError) in _ = try event.payload(as: CustomerIdentified.self) }
  }

  @Test func validInputDecodes() throws {
    let payload = try CloudEvent.decode(Array(Self.valid.utf8)).payload(as: CustomerIdentified.self)
    #expect(payload.channel == .store)
  }

  @Test func truncatedJSON() throws {
    let bytes = Array(Self.valid.utf8.prefix(60))
    let error = try #require(Self.envelopeError(bytes))
    #expect(error.field == "$")
    guard case .malformedJSON(let detail) = error.reason else {
      Issue.record("expected malformedJSON, got \(error)")
      return
    }
    #expect(detail.contains("unexpected end of input"))
  }

  @Test(arguments: [
    "", "   ", "{", "[1,]", #"{"a":1,}"#, "nul", #"{"a":"\x"}"#, #"{"a":1}{"#, "01", "-", #"{"a":1,"a":2}"#,
  ])
  func malformedDocuments(text: String) {
    #expect(Self.envelopeError(Array(text.utf8))?.field == "$")
  }

  /// A number too large for a `Double` is reported at its first byte, even at the end of the input.
  @Test(arguments: [("1e400", 0), ("-1e400", 0), ("[1,1e400]", 3), (#"{"a":1E+999}"#, 5)])
  func numbersOutOfRangeAreReportedWhereTheyStart(text: String, offset: Int) {
    #expect(
      Self.caught { () throws(EventDecodingError) in _ = try JSONValue.parse(Array(text.utf8)) }
        == EventDecodingError(field: "$", reason: .malformedJSON("number out of range at byte \(offset)")))
  }

  @Test func notAnObject() {
    #expect(
      Self.envelopeError(Array("[]".utf8))
        == EventDecodingError(field: "$", reason: .wrongType(expected: "object")))
  }

  @Test func wrongSpecVersion() {
    let error = Self.envelopeError(Self.variant(#""specversion":"1.0""#, #""specversion":"0.3""#))
    #expect(error == EventDecodingError(field: "specversion", reason: .badSpecVersion("0.3")))
    #expect(error?.description == #"field "specversion": unsupported specversion "0.3" (expected "1.0")"#)
  }

  @Test func missingId() {
    let error = Self.envelopeError(Self.variant(#""id":"evt-9","#, ""))
    #expect(error == EventDecodingError(field: "id", reason: .missing))
    #expect(error?.description == #"field "id": missing"#)
  }

  @Test func idOfWrongType() {
    let error = Self.envelopeError(Self.variant(#""id":"evt-9""#, #""id":9"#))
    #expect(error == EventDecodingError(field: "id", reason: .wrongType(expected: "string")))
  }

  @Test func emptySource() {
    let error = Self.envelopeError(Self.variant(#""source":"/passerelle/pos/store-0042""#, #""source":"""#))
    #expect(error == EventDecodingError(field: "source", reason: .invalid("must not be empty")))
  }

  @Test func badTime() {
    let error = Self.envelopeError(Self.variant("2026-11-24T10:00:00.123Z", "24/11/2026 10:00"))
    #expect(error == EventDecodingError(field: "time", reason: .badTime("24/11/2026 10:00")))
  }

  /// An offset may not carry an instant out of the four-digit years: it could not be written back.
  @Test func timesOutsideYearsZeroToNineThousandNineHundredNinetyNineInUTC() {
    #expect(EventTime.parse("0000-01-01T00:00:00+00:01") == nil)
    #expect(EventTime.parse("9999-12-31T23:59:59-00:01") == nil)
    #expect(EventTime.parse("0000-01-01T00:01:00+00:01") != nil)
    #expect(EventTime.parse("9999-12-31T23:59:59Z") != nil)
  }

  @Test func badTraceParent() {
    let error = Self.envelopeError(
      Self.variant(#""partitionkey""#, #""traceparent":"00-abc-def-01","partitionkey""#))
    #expect(error?.field == "traceparent")
  }

  @Test func extensionNamesMustBeLowercaseAlphanumeric() {
    let error = Self.envelopeError(Self.variant(#""partitionkey""#, #""partition_Key":"x","partitionkey""#))
    #expect(
      error
        == EventDecodingError(
          field: "partition_Key", reason: .invalid("extension names are lowercase letters and digits")))
  }

  @Test func controlCharactersAreRefusedInStringAttributes() {
    let reason = EventDecodingError.Reason.invalid(
      "control characters are not allowed in CloudEvents strings")
    let subject = Self.envelopeError(
      Self.variant(#""partitionkey""#, #""subject":"line\nbreak","partitionkey""#))
    #expect(subject == EventDecodingError(field: "subject", reason: reason))
    let extensionValue = Self.envelopeError(
      Self.variant(#""partitionkey""#, #""tenant":"a\u0000b","partitionkey""#))
    #expect(extensionValue == EventDecodingError(field: "tenant", reason: reason))
    // The edges: DEL and C1 (U+0080–U+009F) are refused; NBSP, other accented letters and
    // characters outside the BMP are not.
    for refused in [#"\u007f"#, #"\u0080"#, #"\u0085"#, #"\u009f"#, "\u{7F}", "\u{85}"] {
      let error = Self.envelopeError(
        Self.variant(#""partitionkey""#, #""subject":"a\#(refused)b","partitionkey""#))
      #expect(error == EventDecodingError(field: "subject", reason: reason), "\(refused)")
    }
    for accepted in [#"\u00a0"#, #"\u00e9"#, "é", "©", "\u{A0}", "🛒", #"\ud83d\uded2"#] {
      let error = Self.envelopeError(
        Self.variant(#""partitionkey""#, #""subject":"a\#(accepted)b","partitionkey""#))
      #expect(error == nil, "\(accepted)")
    }
  }

  /// Whether `text` holds a C0 or C1 control character or DEL.
  static func hasControlCharacter(_ text: String) -> Bool {
    text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
  }

  /// Error texts end up in database text columns (dead-letter reasons, outbox rejections), where
  /// PostgreSQL refuses NUL and SQLite cuts the text at it: what they echo of the input has its
  /// control characters escaped, in the field and in the reason.
  /// An error quotes at most a bounded part of what it echoes: a megabyte-long extension name
  /// is not sent back whole in the rejection (nor stored whole by an outbox).
  @Test func errorsEchoABoundedPartOfTheInput() throws {
    let name = String(repeating: "A", count: 10_000)
    let error = try #require(
      Self.envelopeError(Self.variant(#""partitionkey""#, "\"\(name)\":\"x\",\"partitionkey\"")))
    #expect(error.field == String(repeating: "A", count: EventDecodingError.maximumEcho) + "…")
  }

  @Test func errorsEscapeTheControlCharactersTheyEcho() throws {
    let duplicate = try #require(
      Self.envelopeError(
        Self.variant(#""customerKey":"cus_1""#, #""customerKey":"cus_1","k\u0000":1,"k\u0000":2"#)))
    #expect(duplicate.description.contains(#"duplicate key "k\u0000""#))
    let badName = try #require(
      Self.envelopeError(Self.variant(#""partitionkey""#, #""Bad\u0000Name\u0085":"x","partitionkey""#)))
    #expect(badName.field == #"Bad\u0000Name\u0085"#)
    let badTime = try #require(
      Self.caught { () throws(EventDecodingError) in
        _ = try CloudEvent.decode(
          Array(
            #"{"specversion":"1.0","id":"1","source":"/s","type":"customer.erasure.requested.v1","data":{"customerKey":"c","requestId":"r","channel":"web","requestedAt":"now\u0000"}}"#
              .utf8)
        ).payload(as: CustomerErasureRequested.self)
      })
    #expect(badTime == EventDecodingError(field: "data.requestedAt", reason: .badTime(#"now\u0000"#)))
    let badKey = try #require(
      Self.caught { () throws(EventDecodingError) in
        _ = try CloudEvent.decode(
          Array(
            #"{"specversion":"1.0","id":"1","source":"/s","type":"notification.requested.v1","data":{"notificationId":"n","customerKey":"c","purpose":"transactional","template":"t","channels":["sms"],"variables":{"k\n\u001f":1}}}"#
              .utf8)
        ).payload(as: NotificationRequested.self)
      })
    #expect(badKey.field == #"data.variables.k\u000a\u001f"#)
    for error in [duplicate, badName, badTime, badKey] {
      #expect(
        !Self.hasControlCharacter(error.description) && !Self.hasControlCharacter(error.field), "\(error)")
    }
  }

  /// Escaping holds for errors built or changed by code too, and keeps text without them as is.
  @Test func errorsEscapeControlCharactersWhenBuiltOrChanged() {
    var error = EventDecodingError(field: "a\u{0}b", reason: .unknownChannel("x\u{9F}\u{1B}é🛒"))
    #expect(error.field == #"a\u0000b"#)
    #expect(error.reason == .unknownChannel(#"x\u009f\u001bé🛒"#))
    error.field = "\u{7F}"
    error.reason = .invalid("tab\there")
    #expect(error == EventDecodingError(field: #"\u007f"#, reason: .invalid(#"tab\u0009here"#)))
    #expect(
      EventDecodingError(field: "data.a b", reason: .badTime("é\\")).description
        == #"field "data.a b": bad time "é\" (expected RFC 3339, e.g. 2026-11-24T10:00:00.123Z)"#)
  }

  /// Tens of thousands of extension names (a megabyte of them fits in one event) are checked for
  /// duplicates with a set: the duplicate at the end is still found.
  @Test func aDuplicateAmongManyExtensionsIsFound() {
    let names = (0..<50_000).map { #""x\#($0)":1"# }.joined(separator: ",")
    let unique = Self.variant(#""partitionkey""#, names + #","partitionkey""#)
    #expect(Self.envelopeError(unique) == nil)
    let repeated = Self.variant(#""partitionkey""#, names + #","x7":2,"partitionkey""#)
    #expect(Self.envelopeError(repeated)?.description.contains("duplicate") == true)
  }

  @Test func extensionValuesMustBeScalars() {
    let error = Self.envelopeError(Self.variant(#""partitionkey""#, #""tenant":{"id":1},"partitionkey""#))
    #expect(
      error == EventDecodingError(field: "tenant", reason: .wrongType(expected: "string, integer or boolean"))
    )
  }

  /// CloudEvents has no floating point and its Integer is 32-bit: other numbers are refused, naming
  /// the extension, instead of being rewritten (`12345678901234567890` came back as
  /// `1.2345678901234567e+19`), by both decoders.
  @Test(arguments: [
    "1.5", "1e3", "1E0", "-0.0", "2147483648", "-2147483649", "1099511627776", "12345678901234567890",
  ])
  func extensionNumbersMustBeCloudEventsIntegers(number: String) {
    let bytes = Self.variant(#""partitionkey""#, #""big":\#(number),"partitionkey""#)
    let expected = EventDecodingError(
      field: "big",
      reason: .invalid(
        #"extension "big" is a number but not a CloudEvents Integer (a whole number from -2147483648 to 2147483647, without fraction or exponent); send it as a string"#
      ))
    #expect(Self.envelopeError(bytes) == expected)
    #expect(
      Self.caught { () throws(EventDecodingError) in _ = try CloudEvent.decodeEnvelope(bytes) } == expected)
  }

  /// Integers in 32 bits are kept and written back as they came.
  @Test(arguments: ["0", "7", "-7", "2147483647", "-2147483648"])
  func extensionIntegersAreKeptAndWrittenBack(number: String) throws {
    let event = try CloudEvent.decode(Self.variant(#""partitionkey""#, #""big":\#(number),"partitionkey""#))
    #expect(event.extensions["big"] == Int64(number).map(JSONValue.integer))
    #expect(String(decoding: event.encoded(), as: UTF8.self).contains(#""big":\#(number),"#))
  }

  /// The JSON event format: `data` is any JSON value only if `datacontenttype` is JSON; with any
  /// other media type it is a string, in both decoders.
  @Test(arguments: [
    "text/plain", "application/xml", "text/plain; charset=utf-8", "json", "application/jsonx",
    "application/json-seq", "/json",
  ])
  func dataOfANonJSONContentTypeMustBeAString(contentType: String) throws {
    let expected = EventDecodingError(
      field: "data",
      reason: .invalid(
        #"must be a string: datacontenttype "\#(contentType)" is not JSON (*/json or */*+json)"#))
    for data in [#"{"a":1}"#, "[]", "1", "true"] {
      let bytes = Array(
        #"{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"\#(contentType)","data":\#(data)}"#
          .utf8)
      let (full, envelope) = EnvelopeOnlyDecodingTests.errors(bytes)
      #expect(full == expected, "\(data)")
      #expect(envelope == expected, "\(data)")
    }
    for data in [#","data":"<a/>""#, #","data":null"#, ""] {
      let bytes = Array(
        #"{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"\#(contentType)"\#(data)}"#
          .utf8)
      #expect(try CloudEvent.decode(bytes).dataContentType == contentType)
      #expect(try CloudEvent.decodeEnvelope(bytes).data == .null)
    }
  }

  /// A JSON media type is one whose subtype, parameters aside and in any case, is `json` or ends in
  /// `+json`.
  @Test(arguments: [
    "application/json", "APPLICATION/Json", "text/json", "application/cloudevents+json",
    "application/vnd.acme.order+json; version=1", " application/json ; charset=utf-8",
  ])
  func anyJSONContentTypeTakesAnyData(contentType: String) throws {
    let bytes = Self.variant(#""partitionkey""#, #""datacontenttype":"\#(contentType)","partitionkey""#)
    #expect(try CloudEvent.decode(bytes).payload(as: CustomerIdentified.self).channel == .store)
    #expect(try CloudEvent.decodeEnvelope(bytes).dataContentType == contentType)
  }

  /// `dataschema` is a CloudEvents URI: absolute, so with a scheme.
  @Test(arguments: ["not a uri", "/schemas/order.json", "order.json", "1http://x", ":x", "https://x/a b"])
  func dataSchemaMustBeAnAbsoluteURI(schema: String) {
    let bytes = Self.variant(#""partitionkey""#, #""dataschema":"\#(schema)","partitionkey""#)
    let expected = EventDecodingError(
      field: "dataschema",
      reason: .invalid(
        "must be an absolute URI, with a scheme and no spaces, e.g. https://example.com/order.json"))
    let (full, envelope) = EnvelopeOnlyDecodingTests.errors(bytes)
    #expect(full == expected)
    #expect(envelope == expected)
  }

  @Test(arguments: [
    "https://example.com/schemas/order.json", "urn:passerelle:order:v1", "HTTP://X", "a+b-c.d:x",
    "tag:acme.com,2026:order#v1",
  ])
  func absoluteURIsAreDataSchemas(schema: String) throws {
    let bytes = Self.variant(#""partitionkey""#, #""dataschema":"\#(schema)","partitionkey""#)
    #expect(try CloudEvent.decode(bytes).dataSchema == schema)
  }

  @Test func unknownChannelInPayload() throws {
    let error = try Self.payloadError(Self.variant(#""channel":"store""#, #""channel":"fax""#))
    #expect(error == EventDecodingError(field: "data.channel", reason: .unknownChannel("fax")))
    #expect(
      error?.description
        == #"field "data.channel": unknown channel "fax" (expected one of store, web, app, email, sms, push, phone, mail, social, catalogue, kiosk, tv)"#
    )
  }

  @Test func wrongTypeInPayload() throws {
    let error = try Self.payloadError(Self.variant(#""isNewCustomer":false"#, #""isNewCustomer":"no""#))
    #expect(error == EventDecodingError(field: "data.isNewCustomer", reason: .wrongType(expected: "boolean")))
  }

  @Test func nestedPathInPayload() throws {
    let error = try Self.payloadError(Self.variant(#""kind":"loyaltyCard","#, ""))
    #expect(error == EventDecodingError(field: "data.identities.0.kind", reason: .missing))
    let unknownKind = try Self.payloadError(Self.variant(#""kind":"loyaltyCard""#, #""kind":"fingerprint""#))
    #expect(unknownKind?.field == "data.identities.0.kind")
  }

  @Test func badTimeInPayload() throws {
    let bytes = Array(
      #"{"specversion":"1.0","id":"1","source":"/s","type":"customer.erasure.requested.v1","data":{"customerKey":"c","requestId":"r","channel":"web","requestedAt":"yesterday"}}"#
        .utf8)
    let error = Self.caught { () throws(EventDecodingError) in
      _ = try CloudEvent.decode(bytes).payload(as: CustomerErasureRequested.self)
    }
    #expect(error == EventDecodingError(field: "data.requestedAt", reason: .badTime("yesterday")))
  }

  @Test func payloadOfAnotherType() throws {
    let event = try CloudEvent.decode(Array(Self.valid.utf8))
    #expect(
      throws: EventDecodingError(
        field: "type", reason: .invalid("expected order.placed.v1, found customer.identified.v1"))
    ) {
      try event.payload(as: OrderPlaced.self)
    }
  }

  @Test func missingData() throws {
    let event = CloudEvent(id: "1", source: "/s", type: CustomerIdentified.eventType)
    #expect(throws: EventDecodingError(field: "data", reason: .missing)) {
      try event.payload(as: CustomerIdentified.self)
    }
  }

  @Test func deepNestingIsRefused() {
    let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    #expect(Self.envelopeError(Array(text.utf8))?.field == "$")
  }
}

/// The bus's envelope-only decoding: the same event and the same errors as the full decoder, with
/// `data` checked but not built.
@Suite struct EnvelopeOnlyDecodingTests {
  static func errors(_ bytes: [UInt8]) -> (full: EventDecodingError?, envelope: EventDecodingError?) {
    (
      MalformedInputTests.caught { () throws(EventDecodingError) in _ = try CloudEvent.decode(bytes) },
      MalformedInputTests.caught { () throws(EventDecodingError) in _ = try CloudEvent.decodeEnvelope(bytes) }
    )
  }

  @Test func theEnvelopeIsTheFullDecodersWithoutData() throws {
    let bytes = Array(MalformedInputTests.valid.utf8)
    let full = try CloudEvent.decode(bytes)
    let envelope = try CloudEvent.decodeEnvelope(bytes)
    #expect(envelope.data == .null)
    #expect(envelope.id == full.id && envelope.source == full.source && envelope.type == full.type)
    #expect(envelope.time == full.time && envelope.partitionKey == full.partitionKey)
  }

  @Test(arguments: [
    // Syntax errors inside data, at every kind of value.
    #""data":{"a":[1,2,]}"#, #""data":{"a":tru}"#, #""data":{"a":01}"#,
    #""data":{"a":"\q"}"#, #""data":{"a":"\ud800"}"#, "\"data\":{\"a\":\"tab\there\"}", #""data":{"a" 1}"#,
    #""data":{"a":1 "b":2}"#, #""data":[1 2]"#, #""data":{"a":-}"#, #""data":{"a":1.}"#,
    #""data":{"a":"é unterminated}"#, #""data":{"a":1e400}"#,
    // Errors outside data are untouched.
    #""specversion":"0.3""#, #""id":"""#, #""time":"yesterday""#,
  ])
  func sameErrorsAsTheFullDecoder(replacement: String) throws {
    let original =
      replacement.hasPrefix(#""data""#)
      ? #""data":{"customerKey":"cus_1""#
      : replacement.hasPrefix(#""specversion""#)
        ? #""specversion":"1.0""#
        : replacement.hasPrefix(#""id""#) ? #""id":"evt-9""# : #""time":"2026-11-24T10:00:00.123Z""#
    let bytes = MalformedInputTests.variant(original, replacement)
    let (full, envelope) = Self.errors(bytes)
    let error = try #require(full)
    #expect(envelope?.field == error.field)
    #expect(envelope.map { "\($0)" } == "\(error)")
  }

  /// Every member of an envelope, one per line, so that a test can drop, repeat or alter one.
  static let members = [
    #""specversion":"1.0""#, #""id":"evt-9""#, #""source":"/passerelle/pos/store-0042""#,
    #""type":"customer.identified.v1""#, #""time":"2026-11-24T10:00:00.123Z""#, #""partitionkey":"cus_1""#,
    #""subject":"order-1""#, #""datacontenttype":"application/json""#, #""dataschema":"urn:x""#,
    #""sequence":"7""#, #""traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01""#,
    #""tenant":"eu""#, #""data":{"customerKey":"cus_1"}"#,
  ]

  /// Values that break each kind of attribute in some way.
  static let badValues = [
    "null", "1", "\"\"", "[]", "{}", "true", "\"0.3\"", "\"bad time\"", "\"a b\"", "\"00-zz\"",
  ]

  /// The decoders read members in document order, straight into the attributes; building the
  /// dictionary first (the `Codable` path, ``CloudEvent/init(validating:)``) must give the same
  /// event or the same error for every envelope with at most one bad extension.
  @Test func readingInOrderMatchesBuildingTheObjectFirst() throws {
    var documents: [[String]] = [Self.members]
    for index in Self.members.indices {
      var dropped = Self.members
      dropped.remove(at: index)
      documents.append(dropped)
      documents.append(Self.members + [Self.members[index]])  // a duplicate
      documents.append(Array(Self.members.reversed()))
      let name = Self.members[index].prefix { $0 != ":" }
      for value in Self.badValues {
        var altered = Self.members
        altered[index] = "\(name):\(value)"
        documents.append(altered)
      }
    }
    documents.append(Self.members + [#""Bad":1"#])
    documents.append(Self.members + [#""data_base64":"AA==""#])
    documents.append(Self.members + [#""nested":{"a":1}"#])
    for members in documents {
      let bytes = Array(("{" + members.joined(separator: ",") + "}").utf8)
      let built = Result { () throws(EventDecodingError) in try CloudEvent(validating: JSONValue.parse(bytes))
      }
      let read = Result { () throws(EventDecodingError) in try CloudEvent.decode(bytes) }
      let envelope = Result { () throws(EventDecodingError) in try CloudEvent.decodeEnvelope(bytes) }
      switch (built, read, envelope) {
      case (.success(let built), .success(let read), .success(let envelope)):
        #expect(read == built)
        var withoutData = built
        withoutData.data = .null
        #expect(envelope == withoutData)
      case (.failure(let built), .failure(let read), .failure(let envelope)):
        #expect("\(read)" == "\(built)", "\(String(decoding: bytes, as: UTF8.self))")
        #expect("\(envelope)" == "\(built)")
      default:
        Issue.record(
          "decoders disagree on \(String(decoding: bytes, as: UTF8.self)): \(built), \(read), \(envelope)")
      }
    }
    #expect(documents.count > 150)
  }

  /// A name repeated inside `data`, at any depth, fails the envelope as it fails the full decoder:
  /// otherwise the bus would store an event that every consumer dead-letters.
  @Test(arguments: [
    #""customerKey":"cus_1","customerKey":"cus_2""#,
    #""customerKey":"cus_1","x":{"a":[{"b":1},{"b":1,"c":{},"b":2}]}"#,
    #""customerKey":"cus_1","x":{"a":{"b":1},"a":2}"#,
    #""customerKey":"cus_1","a":1,"\u0061":2"#,
    // Canonically equivalent names are equal Swift strings, so the full decoder refuses them too.
    #""customerKey":"cus_1","\u00e9":1,"e\u0301":2"#, #""customerKey":"cus_1","K":1,"\u212a":2"#,
    // Past the names compared in place.
    #""customerKey":"cus_1","#
      + (0..<40).map { #""n\#($0)":\#($0),"# }.joined() + #""x":{"a":1,"n1":2},"n39":1"#,
  ])
  func duplicateNamesInsideDataAreRefused(members: String) throws {
    let bytes = MalformedInputTests.variant(#""customerKey":"cus_1""#, members)
    let (full, envelope) = Self.errors(bytes)
    let error = try #require(full)
    #expect(error.description.contains("duplicate key"))
    #expect(envelope == error)
  }

  @Test func validDataOfEveryKindPasses() throws {
    // Objects that repeat names of their siblings, parents or children are fine.
    let data =
      #"{"s":"a\"b\\c\u00e9 ü","n":[-1,0,1.5e3,true,false,null],"o":{"x":{}},"e":[],"#
      + #""r":[{"k":1},{"k":2}],"p":{"k":{"k":1},"j":{"k":{"j":1}},"x":1},"#
      + #""m":{"# + (0..<40).map { #""n\#($0)":{"n\#($0)":1},"# }.joined() + #""é":{"e":1}}}"#
    let bytes = MalformedInputTests.variant(#""data":{"customerKey":"cus_1","#, #""data":{"w":\#(data),"#)
    #expect(try CloudEvent.decodeEnvelope(bytes).id == "evt-9")
    #expect(try CloudEvent.decode(bytes).id == "evt-9")
  }
}
