import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleTestKit
import Testing
import ZeroMQ

/// Issue 4, test 6: with CURVE, a client whose key is not allowed can neither publish nor subscribe.
@Suite struct CurveBusTests {
  @Test func unknownKeysCanNeitherPublishNorSubscribe() async throws {
    let server = try CurveKeyPair.generate()
    let allowed = try CurveKeyPair.generate()
    let stranger = try CurveKeyPair.generate()
    // Over TCP, as a deployed bus is reached; at debug level, where swift-service-lifecycle logs
    // each service with its settings.
    let bus = try TestBus(
      transport: .tcp,
      environment: [
        "PASSERELLE_BUS_SECRET_KEY": server.secretKey, "PASSERELLE_BUS_ALLOWED_KEYS": allowed.publicKey,
        "PASSERELLE_LOG_LEVEL": "debug",
      ])
    try await bus.start()
    let endpoints = BusEndpoints(ingest: bus.ingest, live: bus.live, query: bus.query)
    let friend = try BusClient(
      endpoints: endpoints, security: BusClientSecurity(serverPublicKey: server.publicKey, keyPair: allowed))
    let intruder = try BusClient(
      endpoints: endpoints, security: BusClientSecurity(serverPublicKey: server.publicKey, keyPair: stranger))
    let plain = try BusClient(endpoints: endpoints)

    let friendLive = try await friend.liveSocket(prefixes: [""])
    let intruderLive = try await intruder.liveSocket(prefixes: [""])
    let plainLive = try await plain.liveSocket(prefixes: [""])
    // A heartbeat proves the friend's subscription has reached the bus (they come every 500 ms).
    _ = try await withDeadline(.seconds(10), "a heartbeat on the allowed live socket") {
      try await friendLive.receive()
    }

    let events = BusTestSupport.events(source: "/pos", count: 10)
    let outcomes = try await friend.publish(events.map { $0.encoded() })
    #expect(outcomes.allSatisfy { $0.status == .stored })
    await #expect(throws: (any Error).self) {
      _ = try await intruder.publish(
        [BusTestSupport.events(source: "/evil", count: 1)[0].encoded()], timeout: .seconds(2))
    }
    await #expect(throws: (any Error).self) {
      _ = try await plain.publish(
        [BusTestSupport.events(source: "/plain", count: 1)[0].encoded()], timeout: .seconds(2))
    }
    await #expect(throws: (any Error).self) { _ = try await plain.info(timeout: .seconds(2)) }
    await #expect(throws: (any Error).self) { _ = try await intruder.info(timeout: .seconds(2)) }

    // One bound for the whole stream: heartbeats would keep a per-message bound from ever firing.
    let received = try await withDeadline(.seconds(20), "the events on the allowed live socket") {
      var received = 0
      while received < events.count {
        let message = try await friendLive.receive()
        if !message[0].string.hasSuffix(Topic.headMarker) { received += 1 }
      }
      return received
    }
    #expect(received == events.count)
    let leaked = try? await withDeadline(.seconds(1), "intruder live") { try await intruderLive.receive() }
    #expect(leaked == nil, "an unknown key received live events")
    let leakedPlain = try? await withDeadline(.seconds(1), "plain live") { try await plainLive.receive() }
    #expect(leakedPlain == nil, "a client without CURVE received live events")

    let stored = try await BusTestSupport.readJournal(friend)
    #expect(stored.count == events.count)
    #expect(stored.allSatisfy { $0.source == "/pos" })
    #expect(bus.output.contains("\"curve\":\"true\""))
    #expect(await bus.terminate() == 0)
    #expect(!bus.output.contains(server.secretKey), "the bus logged its secret key")
  }
}
