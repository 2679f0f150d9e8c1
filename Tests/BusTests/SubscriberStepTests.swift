import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Synchronization
import Testing

/// The subscriber's loop between steps: a catch-up goes a bounded step at a time (housekeeping
/// runs meanwhile), positions cover the events a type filter skips, and a handler's `Stop` hands
/// the leases over as a graceful shutdown does.
@Suite struct SubscriberStepTests {
  /// The subscriber's reported positions for `name` on the bus, by partition.
  static func reported(_ name: String, _ client: BusClient) async -> [Int: Int64] {
    guard let lag = try? await client.lag() else { return [:] }
    return Dictionary(lag.entries.filter { $0.subscriber == name }.map { ($0.partition, $0.offset) }) { $1 }
  }

  /// A backlog of 3,000 events in one partition, each taking a few milliseconds: the position is
  /// reported while the catch-up is under way, which shows housekeeping ran between its steps
  /// (before, the first report came once the whole backlog was applied); every event once.
  @Test func housekeepingRunsBetweenTheStepsOfALongCatchUp() async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let outcomes = try await client.publish(
      BusTestSupport.events(source: "/backlog", count: 1_000, customers: 1).map { $0.encoded() })
    _ = try await client.publish(
      BusTestSupport.events(source: "/backlog", count: 1_000, customers: 1, prefix: "f").map { $0.encoded() })
    _ = try await client.publish(
      BusTestSupport.events(source: "/backlog", count: 1_000, customers: 1, prefix: "g").map { $0.encoded() })
    let partition = try #require(outcomes.first?.partition)
    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { database in
      try await database.execute("CREATE TABLE effects (id TEXT NOT NULL)", [])
      let subscriber = Subscriber(
        configuration: .init(name: "backlog", fetchBatch: 100), database: database, client: client,
        logger: Logger(label: "test")
      ) { delivery, transaction in
        try await Task.sleep(for: .milliseconds(3))
        try await transaction.execute("INSERT INTO effects (id) VALUES (?)", [.text(delivery.event.id)])
      }
      let seen = Mutex<Set<Int64>>([])
      await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await subscriber.run() }
        let done = await eventually(within: .seconds(90)) {
          let position = await Self.reported("backlog", client)[partition] ?? 0
          seen.withLock { _ = $0.insert(position) }
          return position == 3_000
        }
        #expect(done)
        group.cancelAll()
      }
      let midway = seen.withLock { $0.filter { $0 > 0 && $0 < 3_000 } }
      #expect(!midway.isEmpty, "positions reported: \(seen.withLock { $0.sorted() })")
      #expect(await SubscriberOptionsTests.count("SELECT COUNT(*) AS n FROM effects", database) == 3_000)
      #expect(
        await SubscriberOptionsTests.count("SELECT COUNT(DISTINCT id) AS n FROM effects", database) == 3_000)
    }
    #expect(await bus.terminate() == 0)
  }

  /// A subscriber to `pos.` events only: once the last events of every partition are of other
  /// types (they arrive live, after it has applied the rest), its checkpoints and reported
  /// positions still reach each partition's head, so its lag returns to 0 (before, they stayed
  /// at its last `pos.` event and the lag never did).
  @Test(arguments: TestDatabases.backends)
  func aTypeFilteredSubscribersLagReturnsToZero(backend: TestDatabases.Backend) async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    try await TestDatabases.withDatabase(backend, migrations: BusClientSchema.migrations) { database in
      try await database.execute("CREATE TABLE effects (id TEXT NOT NULL)", [])
      let subscriber = Subscriber(
        configuration: .init(name: "tills", prefixes: ["pos."]), database: database, client: client,
        logger: Logger(label: "test")
      ) { delivery, transaction in
        try await transaction.execute("INSERT INTO effects (id) VALUES (?)", [.text(delivery.event.id)])
      }
      var heads: [Int64] = []
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await subscriber.run() }
        // One in three is a `pos.` event: 100 of 300; then only other types, in every partition.
        _ = try await client.publish(BusTestSupport.events(source: "/mixed", count: 300).map { $0.encoded() })
        #expect(
          await eventually(within: .seconds(30)) {
            await SubscriberOptionsTests.count("SELECT COUNT(*) AS n FROM effects", database) == 100
          })
        let tail = BusTestSupport.events(source: "/mixed", count: 300, prefix: "tail").filter {
          !$0.type.hasPrefix("pos.")
        }
        _ = try await client.publish(tail.map { $0.encoded() })
        heads = try await client.info().heads
        let caughtUp = await eventually(within: .seconds(30)) { [heads] in
          let reported = await Self.reported("tills", client)
          return heads.indices.allSatisfy { heads[$0] == 0 || reported[$0] == heads[$0] }
        }
        let reported = await Self.reported("tills", client)
        #expect(caughtUp, "reported \(reported), heads \(heads)")
        group.cancelAll()
      }
      let checkpoints = try await database.query(
        "SELECT partition_no, event_offset FROM bus_checkpoints WHERE subscriber = 'tills'", [])
      let stored = Dictionary(
        checkpoints.compactMap { row -> (Int, Int64)? in
          guard case .integer(let partition) = row["partition_no"],
            case .integer(let offset) = row["event_offset"]
          else { return nil }
          return (Int(partition), offset)
        }
      ) { $1 }
      #expect(heads.indices.allSatisfy { heads[$0] == 0 || stored[$0] == heads[$0] }, "\(stored) \(heads)")
      #expect(await SubscriberOptionsTests.count("SELECT COUNT(*) AS n FROM effects", database) == 100)
    }
    let lag = try await client.lag()
    #expect(lag.entries.filter { $0.subscriber == "tills" }.allSatisfy { $0.lag == 0 }, "\(lag.entries)")
    #expect(await bus.terminate() == 0)
  }

  /// A handler that throws `Stop` ends a leased subscriber with its leases and membership given
  /// back, as graceful shutdown does (before, they stayed held until they expired).
  @Test(arguments: TestDatabases.backends)
  func aHandlersStopReleasesTheLeases(backend: TestDatabases.Backend) async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    _ = try await client.publish(BusTestSupport.events(source: "/stop", count: 5).map { $0.encoded() })
    try await TestDatabases.withDatabase(backend, migrations: BusClientSchema.migrations) { database in
      let subscriber = Subscriber(
        configuration: .init(name: "stopper", assignment: .leased(instance: "a", ttl: .seconds(30))),
        database: database, client: client, logger: Logger(label: "test")
      ) { _, _ in throw Subscriber.Stop() }
      try await withDeadline(.seconds(30)) { try await subscriber.run() }
      let held = try await database.query("SELECT COUNT(*) AS n FROM bus_leases WHERE owner = 'a'", [])
      #expect(held.first?["n"] == .integer(0))
      let members = try await database.query("SELECT COUNT(*) AS n FROM bus_members", [])
      #expect(members.first?["n"] == .integer(0))
    }
    #expect(await bus.terminate() == 0)
  }
}
