import Foundation
import PasserelleBus
import Testing

/// The protocol's small JSON frames and the partitioner, pinned (docs/PROTOCOL.md documents them).
@Suite struct WireFormatTests {
  @Test func fastOutcomeEncodingMatchesTheEncoder() {
    let stored = PublishOutcome(status: .stored, position: EventPosition(partition: 7, offset: 42))
    #expect(
      String(decoding: WireJSON.encode(stored), as: UTF8.self)
        == #"{"offset":42,"partition":7,"status":"stored"}"#)
    #expect(WireJSON.encode(stored) == WireJSON.encode(stored as any Encodable))
    let duplicate = PublishOutcome(status: .duplicate, position: EventPosition(partition: 0, offset: 1))
    #expect(WireJSON.encode(duplicate) == WireJSON.encode(duplicate as any Encodable))
    let rejected = PublishOutcome(rejectedField: "id", reason: "missing \"id\"")
    #expect(
      String(decoding: WireJSON.encode(rejected), as: UTF8.self)
        == #"{"field":"id","reason":"missing \"id\"","status":"rejected"}"#)
  }

  @Test func outcomesDecodeWithoutTheDecoderAndWithIt() throws {
    for outcome in [
      PublishOutcome(status: .stored, position: EventPosition(partition: 15, offset: 123_456_789_012)),
      PublishOutcome(status: .duplicate, position: EventPosition(partition: 0, offset: 1)),
      PublishOutcome(rejectedField: "time", reason: "not RFC 3339"),
    ] {
      #expect(try WireJSON.decodeOutcome(from: WireJSON.encode(outcome)) == outcome)
    }
    // Another writer's spacing and key order still decode (through the generic decoder).
    let spaced = Array(#"{ "status": "stored", "partition": 3, "offset": 9 }"#.utf8)
    #expect(
      try WireJSON.decodeOutcome(from: spaced)
        == PublishOutcome(status: .stored, position: EventPosition(partition: 3, offset: 9)))
    let error = #expect(throws: ProtocolError.self) {
      try WireJSON.decodeOutcome(from: Array(#"{"offset":1,"partition":2,"status":"stor"#.utf8))
    }
    #expect(error?.field == "outcome")
  }

  @Test func partitionsFollowTheDocumentedHash() {
    // docs/PROTOCOL.md's worked example.
    #expect(Partitioner(count: 16).partition(forKey: "cus_01JD8Z4K7QF3W2") == 7)
    #expect(Topic.topic(partition: 7, type: "pos.purchase.completed.v1") == "0007|pos.purchase.completed.v1")
    #expect(Topic.parse("0007|~head")! == (7, "~head"))
    #expect(EventPosition(wire: "3:42") == EventPosition(partition: 3, offset: 42))
    #expect(EventPosition(wire: "3:") == nil)
  }

  @Test func localEndpointsAreRecognised() {
    #expect(BusEndpoints.isLocal("tcp://127.0.0.1:7401"))
    #expect(BusEndpoints.isLocal("tcp://[::1]:7401"))
    #expect(BusEndpoints.isLocal("ipc:///tmp/x"))
    #expect(!BusEndpoints.isLocal("tcp://0.0.0.0:7401"))
    #expect(!BusEndpoints.isLocal("tcp://127.example.com:7401"))
    #expect(!BusEndpoints.isLocal("tcp://127.0.0.1"))  // no port: not local, and no crash
  }

  @Test func malformedEndpointsAreNamed() {
    for good in [
      "tcp://127.0.0.1:7401", "tcp://*:7401", "tcp://[::1]:7401", "tcp://127.0.0.1:*", "ipc:///tmp/x",
    ] {
      #expect(BusEndpoints.problem(with: good) == nil, "\(good)")
    }
    #expect(BusEndpoints.problem(with: "tcp://127.0.0.1") == "missing host or port (tcp://host:port)")
    #expect(BusEndpoints.problem(with: "tcp://:7401") == "missing host or port (tcp://host:port)")
    #expect(BusEndpoints.problem(with: "tcp://127.0.0.1:99999") == "port \"99999\" is not 1-65535 or *")
    #expect(BusEndpoints.problem(with: "127.0.0.1:7401") == "not a tcp://, ipc:// or inproc:// endpoint")
    #expect(BusEndpoints.problem(with: "ipc://") != nil)
  }
}
