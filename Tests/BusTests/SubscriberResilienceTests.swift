import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Synchronization
import Testing

/// Two instances of one subscriber on the same partitions (a rolling deploy, a lease that lapsed)
/// fence each other through the checkpoint: every event's effect is applied exactly once, even
/// while one of them keeps missing live messages and catches up by replay across a checkpoint
/// that the other, slower one moves a little at a time. On PostgreSQL, where several instances of
/// a service run (with SQLite, one instance owns its database file).
@Suite struct SharedCheckpointTests {
  @Test(arguments: TestDatabases.backends.filter { $0 == .postgres })
  func twoInstancesOfOneSubscriberApplyEveryEventOnce(backend: TestDatabases.Backend) async throws {
    // A small live queue on the bus: whoever falls behind misses live messages and must catch up.
    let bus = try TestBus(environment: ["PASSERELLE_BUS_LIVE_HWM": "10"])
    try await bus.start()
    let publisher = try BusTestSupport.client(bus)
    let logger = Logger(label: "test")
    let rounds = 30
    let perRound = 100
    try await TestDatabases.withDatabaseURL(backend) { url in
      try await Database.withDatabase(url: url, logger: logger, migrations: BusClientSchema.migrations) {
        steadyDatabase in
        try await steadyDatabase.execute(
          "CREATE TABLE effects (partition_no INTEGER NOT NULL, event_offset INTEGER NOT NULL)", [])
        try await Database.withDatabase(url: url, logger: logger) { lossyDatabase in
          func instance(_ database: any SQLDatabase, liveHighWaterMark: Int32, pause: Duration) throws
            -> Subscriber
          {
            Subscriber(
              configuration: .init(name: "shared", liveHighWaterMark: liveHighWaterMark), database: database,
              client: try BusTestSupport.client(bus), logger: logger
            ) { delivery, transaction in
              if pause > .zero { try await Task.sleep(for: pause) }
              try await transaction.execute(
                "INSERT INTO effects (partition_no, event_offset) VALUES (?, ?)",
                [.integer(Int64(delivery.position.partition)), .integer(delivery.position.offset)])
            }
          }
          // Applies every live message, slowly: the shared checkpoint moves a little at a time.
          let steady = try instance(steadyDatabase, liveHighWaterMark: 100_000, pause: .milliseconds(1))
          // Keeps only a few live messages of each burst: it sees gaps and catches up by replay,
          // again and again, and the steady instance moves the checkpoint during those catch-ups.
          let lossy = try instance(lossyDatabase, liveHighWaterMark: 4, pause: .zero)
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await steady.run() }
            group.addTask { try await lossy.run() }
            for round in 0..<rounds {
              let events = BusTestSupport.events(source: "/shared", count: perRound, prefix: "r\(round)")
              _ = try await publisher.publish(events.map { $0.encoded() })
              try await Task.sleep(for: .milliseconds(30))
            }
            let caughtUp = await eventually(within: .seconds(40)) {
              let rows = try? await steadyDatabase.query("SELECT COUNT(*) AS n FROM effects", [])
              return rows?.first?["n"] == .integer(Int64(rounds * perRound))
            }
            #expect(caughtUp, "every event applied")
            group.cancelAll()
          }
        }
        let effects = try await steadyDatabase.query(
          "SELECT partition_no, MAX(event_offset) AS head, COUNT(*) AS n, COUNT(DISTINCT event_offset) AS d FROM effects GROUP BY partition_no",
          [])
        let heads = try await publisher.info().heads
        let checkpoints = try await steadyDatabase.query(
          "SELECT partition_no, event_offset FROM bus_checkpoints WHERE subscriber = 'shared'", [])
        var total: Int64 = 0
        for row in effects {
          // Offsets 1…head, each once, up to the bus's head: nothing skipped, nothing doubled.
          guard case .integer(let partition) = row["partition_no"] else { continue }
          let checkpoint = checkpoints.first { $0["partition_no"] == .integer(partition) }?["event_offset"]
          #expect(
            row["n"] == row["head"] && row["d"] == row["head"]
              && row["head"] == .integer(heads[Int(partition)]),
            "partition \(partition): bus head \(heads[Int(partition)]), effects \(row), checkpoint \(String(describing: checkpoint))"
          )
          if case .integer(let n) = row["n"] { total += n }
        }
        #expect(total == Int64(rounds * perRound))
      }
    }
    #expect(await bus.terminate() == 0)
  }
}

/// A subscriber outlives a bus outage in the middle of its catch-up: the `FETCH` waiting for the
/// bus times out, the step is retried with backoff, and every event is applied once.
@Suite struct SubscriberRetryTests {
  @Test func aBusKilledDuringCatchUpDoesNotStopTheSubscriber() async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let events = BusTestSupport.events(source: "/store/nantes-2", count: 3_000, customers: 1)
    for start in stride(from: 0, to: events.count, by: 500) {
      _ = try await client.publish(events[start..<(start + 500)].map { $0.encoded() })
    }
    let applied = Mutex<[Int64]>([])
    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { database in
      // Pages of 100 at ~1 ms an event: the catch-up of one partition lasts ~3 s.
      let subscriber = Subscriber(
        configuration: .init(name: "patient", fetchBatch: 100), database: database,
        client: try BusTestSupport.client(bus), logger: Logger(label: "test")
      ) { delivery, _ in
        try await Task.sleep(for: .milliseconds(1))
        applied.withLock { $0.append(delivery.position.offset) }
      }
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await subscriber.run() }
        #expect(await eventually(within: .seconds(20)) { applied.withLock { $0.count } >= 300 })
        bus.kill()
        // Down for longer than a `FETCH` waits (10 s): the catch-up's next page fails.
        try await Task.sleep(for: .seconds(11))
        try await bus.start()
        let done = await eventually(within: .seconds(90)) { applied.withLock { $0.count } >= events.count }
        #expect(done, "applied \(applied.withLock { $0.count }) of \(events.count)")
        group.cancelAll()
      }
    }
    let offsets = applied.withLock { $0 }
    let exactlyOnceInOrder = offsets == Array(1...Int64(events.count))
    #expect(exactlyOnceInOrder, "\(offsets.count) applied, \(Set(offsets).count) distinct")
    #expect(await bus.terminate() == 0)
  }
}
