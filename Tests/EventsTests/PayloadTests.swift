import Foundation
import PasserelleEvents
import Testing

/// Every catalogue entry: typed round trip and the golden wire format.
@Suite struct PayloadTests {
  /// Set `PASSERELLE_UPDATE_GOLDEN=1` to rewrite the golden files in the source tree instead of comparing.
  static let updateGolden = ProcessInfo.processInfo.environment["PASSERELLE_UPDATE_GOLDEN"] == "1"

  @Test func catalogueListsEverySampleOnce() {
    let sampleTypes = EventSamples.payloads.map { type(of: $0).eventType }
    let catalogueTypes = EventCatalogue.payloadTypes.map { $0.eventType }
    #expect(Set(sampleTypes).count == sampleTypes.count)
    #expect(sampleTypes.sorted() == catalogueTypes.sorted())
    #expect(catalogueTypes.count == 26)
    #expect(catalogueTypes.allSatisfy { $0.hasSuffix(".v1") })
  }

  @Test(arguments: EventSamples.payloads.map(Sample.init))
  func payloadRoundTrips(_ sample: Sample) throws {
    try Self.roundTrip(sample.payload)
  }

  @Test(arguments: EventSamples.payloads.map(Sample.init))
  func encodingMatchesGoldenFile(_ sample: Sample) throws {
    try Self.checkGolden(sample.payload)
  }

  @Test func registryDecodesByType() throws {
    let payload = try #require(EventSamples.commerce.first as? OrderPlaced)
    let event = try EventSamples.goldenEvent(payload)
    let decoded = try EventCatalogue.payload(of: CloudEvent.decode(event.encoded()))
    #expect(decoded as? OrderPlaced == payload)
    #expect(EventCatalogue.payloadType(for: "order.placed.v1") == OrderPlaced.self)
    #expect(EventCatalogue.payloadType(for: "order.placed.v9") == nil)
  }

  @Test func unknownFieldsAreIgnoredForForwardCompatibility() throws {
    let json = """
      {"specversion":"1.0","id":"1","source":"/pos","type":"order.collected.v1",
       "data":{"orderId":"o1","customerKey":"c1","storeId":"s1","pickedUpBy":"partner"}}
      """
    let payload = try CloudEvent.decode(Array(json.utf8)).payload(as: OrderCollected.self)
    #expect(payload == OrderCollected(orderId: "o1", customerKey: "c1", storeId: "s1"))
  }

  private static func roundTrip<Payload: EventPayload>(_ payload: Payload) throws {
    let event = try EventSamples.goldenEvent(payload)
    #expect(event.type == Payload.eventType)
    #expect(event.dataContentType == "application/json")
    let decoded = try CloudEvent.decode(event.encoded())
    #expect(decoded == event)
    #expect(try decoded.payload(as: Payload.self) == payload)
  }

  private static func checkGolden<Payload: EventPayload>(_ payload: Payload) throws {
    let encoded = try EventSamples.goldenEvent(payload).encoded()
    let name = Payload.eventType
    if updateGolden {
      let directory = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Golden")
      try Data(encoded + [0x0A]).write(to: directory.appending(path: "\(name).json"))
      return
    }
    let url = try #require(
      Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Golden"),
      "no golden file Golden/\(name).json; run with PASSERELLE_UPDATE_GOLDEN=1 to create it")
    var golden = [UInt8](try Data(contentsOf: url))
    if golden.last == 0x0A { golden.removeLast() }
    #expect(
      golden == encoded,
      "wire format of \(name) changed:\n\(String(decoding: encoded, as: UTF8.self))")
    // Events already on the bus in the golden form must keep decoding to the same payload.
    #expect(try CloudEvent.decode(golden).payload(as: Payload.self) == payload)
  }
}

/// A payload as a test argument, named by its event type in test output.
struct Sample: Sendable, CustomTestStringConvertible {
  /// The payload.
  let payload: any EventPayload
  /// Its event type.
  var testDescription: String { type(of: payload).eventType }
}
