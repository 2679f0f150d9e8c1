import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import ServiceLifecycle
import Synchronization
import Testing

/// Issue 4, test 3: a slow subscriber loses nothing and does not slow the others.
@Suite(.serialized) struct SlowSubscriberTests {
  /// What a subscriber has applied, in order, per partition.
  final class Applied: Sendable {
    private let positions = Mutex<[Int: [Int64]]>([:])
    func record(_ position: EventPosition) {
      positions.withLock { $0[position.partition, default: []].append(position.offset) }
    }
    var count: Int { positions.withLock { $0.values.reduce(0) { $0 + $1.count } } }
    var byPartition: [Int: [Int64]] { positions.withLock { $0 } }
  }

  @Test func slowSubscriberRepairsWhatItMissedWithoutHoldingBackTheFastOne() async throws {
    // A small live queue makes the bus drop messages for the slow subscriber.
    let bus = try TestBus(environment: ["PASSERELLE_BUS_LIVE_HWM": "50"])
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let fast = Applied()
    let slow = Applied()
    // The slow subscriber's handler is held here until the fast one has everything: whatever
    // the machine's speed, the fast one cannot have been waiting for the slow one.
    let fastIsDone = Mutex(false)
    let logger = Logger(label: "test")
    let events = BusTestSupport.events(source: "/kiosk", count: 3_000)

    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { fastDatabase in
      try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { slowDatabase in
        let fastSubscriber = Subscriber(
          configuration: .init(name: "fast", liveHighWaterMark: 50), database: fastDatabase,
          client: try BusTestSupport.client(bus), logger: logger
        ) { delivery, _ in fast.record(delivery.position) }
        let slowSubscriber = Subscriber(
          configuration: .init(name: "slow", fetchBatch: 50, liveHighWaterMark: 50),
          database: slowDatabase, client: try BusTestSupport.client(bus), logger: logger
        ) { delivery, _ in
          for _ in 0..<6_000 where !fastIsDone.withLock({ $0 }) {
            try await Task.sleep(for: .milliseconds(10))
          }
          try await Task.sleep(for: .milliseconds(1))
          slow.record(delivery.position)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await fastSubscriber.run() }
          group.addTask { try await slowSubscriber.run() }
          // From the start of an empty journal (`.earliest`): nothing is missed whenever each
          // subscriber's live subscription reaches the bus.
          for start in stride(from: 0, to: events.count, by: 100) {
            _ = try await client.publish(events[start..<(start + 100)].map { $0.encoded() })
          }
          #expect(await eventually(within: .seconds(60)) { fast.count == events.count })
          #expect(slow.count <= 1, "the slow handler is held until the fast subscriber has everything")
          fastIsDone.withLock { $0 = true }
          #expect(await eventually(within: .seconds(120)) { slow.count == events.count })
          group.cancelAll()
        }
      }
    }
    // The slow subscriber's live queue (50 at the bus, 50 in its socket, and the pipes between)
    // held a fraction of the 3,000 events: most of them came by replay.
    let replayed = try await BusTestSupport.metric("passerelle_bus_events_replayed_total", of: bus)
    #expect((replayed ?? 0) >= 1_500, "replayed \(String(describing: replayed))")
    for applied in [fast, slow] {
      #expect(applied.count == events.count)
      for (partition, offsets) in applied.byPartition {
        #expect(offsets == Array(1...Int64(offsets.count)), "partition \(partition) not gapless and ordered")
      }
    }
    #expect(await bus.terminate() == 0)
  }
}
