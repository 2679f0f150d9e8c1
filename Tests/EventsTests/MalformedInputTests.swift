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

  @Test func extensionValuesMustBeScalars() {
    let error = Self.envelopeError(Self.variant(#""partitionkey""#, #""tenant":{"id":1},"partitionkey""#))
    #expect(
      error == EventDecodingError(field: "tenant", reason: .wrongType(expected: "string, number or boolean")))
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
    #""data":{"a":"é unterminated}"#,
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

  @Test func validDataOfEveryKindPasses() throws {
    let data = #"{"s":"a\"b\\c\u00e9 ü","n":[-1,0,1.5e3,true,false,null],"o":{"x":{}},"e":[]}"#
    let bytes = MalformedInputTests.variant(#""data":{"customerKey":"cus_1","#, #""data":{"w":\#(data),"#)
    #expect(try CloudEvent.decodeEnvelope(bytes).id == "evt-9")
    #expect(try CloudEvent.decode(bytes).id == "evt-9")
  }
}
