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
    let logger = Logger(label: "test")
    let events = BusTestSupport.events(source: "/kiosk", count: 3_000)

    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { fastDatabase in
      try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { slowDatabase in
        let fastSubscriber = Subscriber(
          configuration: .init(name: "fast", start: .latest, liveHighWaterMark: 50), database: fastDatabase,
          client: try BusTestSupport.client(bus), logger: logger
        ) { delivery, _ in fast.record(delivery.position) }
        let slowSubscriber = Subscriber(
          configuration: .init(name: "slow", start: .latest, fetchBatch: 50, liveHighWaterMark: 50),
          database: slowDatabase, client: try BusTestSupport.client(bus), logger: logger
        ) { delivery, _ in
          try await Task.sleep(for: .milliseconds(2))
          slow.record(delivery.position)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await fastSubscriber.run() }
          group.addTask { try await slowSubscriber.run() }
          try await Task.sleep(for: .seconds(2))  // both subscribed and caught up with an empty journal
          for start in stride(from: 0, to: events.count, by: 100) {
            _ = try await client.publish(events[start..<(start + 100)].map { $0.encoded() })
          }
          #expect(await eventually(within: .seconds(60)) { fast.count == events.count })
          // The fast subscriber is done while the slow one (2 ms per event) is still far behind.
          #expect(slow.count < events.count / 2, "slow had \(slow.count) when fast finished")
          #expect(await eventually(within: .seconds(120)) { slow.count == events.count })
          group.cancelAll()
        }
      }
    }
    for applied in [fast, slow] {
      #expect(applied.count == events.count)
      for (partition, offsets) in applied.byPartition {
        #expect(offsets == Array(1...Int64(offsets.count)), "partition \(partition) not gapless and ordered")
      }
    }
    #expect(await bus.terminate() == 0)
  }
}
