import Foundation
import PasserelleEvents
import Testing

/// The CloudEvents envelope: attributes, extensions, time and determinism.
@Suite struct EnvelopeTests {
  static let traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

  static let full = CloudEvent(
    id: "evt-1", source: "/passerelle/gateway", type: "product.viewed.v1", subject: "VTT-ROCKRIDER-XC100-M",
    time: EventSamples.eventTime,
    data: .object(["big": .integer(9_007_199_254_740_993), "ratio": .double(0.25)]),
    partitionKey: "cus_1", sequence: "000042", traceParent: traceParent,
    extensions: ["tenant": .string("acme"), "priority": .integer(3), "sampled": .bool(true)])

  @Test func envelopeRoundTrips() throws {
    let decoded = try CloudEvent.decode(Self.full.encoded())
    #expect(decoded == Self.full)
    #expect(decoded.encoded() == Self.full.encoded())
    #expect(decoded.specversion == "1.0")
  }

  @Test func encodingIsSortedAndCompact() {
    let text = String(decoding: Self.full.encoded(), as: UTF8.self)
    #expect(
      text == """
        {"data":{"big":9007199254740993,"ratio":0.25},"datacontenttype":"application/json","id":"evt-1",\
        "partitionkey":"cus_1","priority":3,"sampled":true,"sequence":"000042","source":"/passerelle/gateway",\
        "specversion":"1.0","subject":"VTT-ROCKRIDER-XC100-M","tenant":"acme","time":"2026-11-24T10:00:00.123Z",\
        "traceparent":"\(Self.traceParent)","type":"product.viewed.v1"}
        """)
  }

  @Test func minimalEventDefaultsContentTypeAndHasNoData() throws {
    let event = try CloudEvent.decode(Array(#"{"specversion":"1.0","id":"a","source":"b","type":"c"}"#.utf8))
    #expect(event == CloudEvent(id: "a", source: "b", type: "c"))
    #expect(event.data == .null)
    #expect(!String(decoding: event.encoded(), as: UTF8.self).contains("\"data\""))
  }

  @Test(arguments: [
    ("2026-11-24T10:00:00Z", 1_795_514_400.0),
    ("2026-11-24T10:00:00.123Z", 1_795_514_400.123),
    ("2026-11-24T11:00:00.123+01:00", 1_795_514_400.123),
    ("2026-11-24T05:30:00.5-04:30", 1_795_514_400.5),
    ("2026-11-24t10:00:00.123456789z", 1_795_514_400.123456789),
    ("2024-02-29T00:00:00Z", 1_709_164_800.0),
    ("1969-12-31T23:59:59.999Z", -0.001),
  ])
  func rfc3339TimesParse(text: String, seconds: Double) throws {
    let date = try #require(EventTime.parse(text))
    #expect(abs(date.timeIntervalSince1970 - seconds) < 1e-6)
  }

  @Test(arguments: [
    "2026-11-24", "2026-11-24T10:00:00", "2026-02-30T10:00:00Z", "2026-11-24T24:00:00Z",
    "2026-11-24T10:00:00+0100",
    "2026-11-24T10:00:00.Z", "24/11/2026 10:00", "2026-11-24T10:00:00Zjunk",
  ])
  func malformedTimesAreRejected(text: String) {
    #expect(EventTime.parse(text) == nil)
  }

  @Test func timeIsWrittenInUTCWithMilliseconds() throws {
    let date = try #require(EventTime.parse("2026-11-24T11:00:00.1234+01:00"))
    #expect(EventTime.format(date) == "2026-11-24T10:00:00.123Z")
    #expect(EventTime.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
  }

  /// Times are truncated to the millisecond, never rounded up: the last instant of year 9999 stays
  /// in it, so every time decoding accepts is written as one it accepts again.
  @Test(arguments: [
    ("9999-12-31T23:59:59.9999Z", "9999-12-31T23:59:59.999Z"),
    ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999Z"),
    ("9999-12-31T23:59:59.9999-00:00", "9999-12-31T23:59:59.999Z"),
    ("2026-11-24T10:00:59.99999999Z", "2026-11-24T10:00:59.999Z"),
    ("2026-11-24T10:00:00.1239Z", "2026-11-24T10:00:00.123Z"),
    ("1969-12-31T23:59:59.9999999Z", "1969-12-31T23:59:59.999Z"),
  ])
  func timesAreTruncatedToTheMillisecond(text: String, written: String) throws {
    let date = try #require(EventTime.parse(text))
    #expect(EventTime.format(date) == written)
    #expect(EventTime.format(EventTime.truncatedToMilliseconds(date)) == written)
    let event = CloudEvent(id: "t", source: "/s", type: "t", time: date)
    let decoded = try CloudEvent.decode(event.encoded())
    #expect(decoded.time.map(EventTime.format) == written)
    #expect(decoded.encoded() == event.encoded())
  }

  /// Truncating does not lose a millisecond to floating point (`.123` held as `.12299…`): each one
  /// of a second is written back as read, and is already truncated, at both ends of the years.
  @Test(arguments: [
    "0000-01-01T00:00:00", "1969-12-31T23:59:59", "2026-11-24T10:00:00", "9999-12-31T23:59:59",
  ])
  func everyMillisecondRoundTrips(second: String) throws {
    for millisecond in 0..<1000 {
      let text = second + "." + String(String(1000 + millisecond).dropFirst()) + "Z"
      let date = try #require(EventTime.parse(text))
      #expect(EventTime.format(date) == text)
      #expect(EventTime.truncatedToMilliseconds(date) == date, "\(text)")
    }
  }

  @Test func stringsWithEscapesAndUnicodeRoundTrip() throws {
    let text = "quote \" backslash \\ newline \n tab \t control \u{01} é 🚲 / slash"
    let event = CloudEvent(id: "x", source: "/s", type: "t", data: .string(text))
    #expect(try CloudEvent.decode(event.encoded()).data == .string(text))
    let escaped = try JSONValue.parse(Array(#""\u00e9\ud83d\udeb2\/""#.utf8))
    #expect(escaped == .string("é🚲/"))
  }

  @Test func numbersKeepIntegersExact() throws {
    let value = try JSONValue.parse(Array("[9223372036854775807,-12,1.5,1e3,9223372036854775808]".utf8))
    #expect(
      value
        == .array([
          .integer(.max), .integer(-12), .double(1.5), .double(1000), .double(9_223_372_036_854_775_808),
        ]))
  }

  @Test func nestedCodableEmbeddingUsesTheSameValidation() throws {
    let data = try JSONEncoder().encode([Self.full])
    #expect(try JSONDecoder().decode([CloudEvent].self, from: data) == [Self.full])
  }

  @Test func traceParentValidation() {
    #expect(TraceParent.isValid(Self.traceParent))
    #expect(!TraceParent.isValid("00-00000000000000000000000000000000-00f067aa0ba902b7-01"))
    #expect(!TraceParent.isValid("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"))
    #expect(!TraceParent.isValid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
    #expect(!TraceParent.isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"))
  }
}
