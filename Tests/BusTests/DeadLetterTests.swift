import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Synchronization
import Testing

/// A handler that rejects an event sends it to a dead-letter record, and the stream goes on; so
/// does an event whose handler keeps failing on a statement (on PostgreSQL that aborts the
/// transaction, which the per-event savepoints must undo).
@Suite struct DeadLetterTests {
  @Test(arguments: TestDatabases.backends)
  func rejectedEventsAreDeadLetteredAndTheRestApplied(backend: TestDatabases.Backend) async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let applied = Mutex<[String]>([])
    try await TestDatabases.withDatabase(backend, migrations: BusClientSchema.migrations) { database in
      try await database.execute("CREATE TABLE effects (id TEXT)", [])
      try await database.execute("CREATE TABLE claims (claim TEXT PRIMARY KEY)", [])
      try await database.execute("INSERT INTO claims (claim) VALUES ('taken')", [])
      let subscriber = Subscriber(
        configuration: .init(name: "picky"), database: database, client: client, logger: Logger(label: "test")
      ) { delivery, transaction in
        try await transaction.execute("INSERT INTO effects (id) VALUES (?)", [.text(delivery.event.id)])
        if delivery.event.id.hasSuffix("-13") { throw Subscriber.Rejection("data.sku: unknown product") }
        // A statement that always fails: a unique key already taken.
        if delivery.event.id.hasSuffix("-27") {
          try await transaction.execute("INSERT INTO claims (claim) VALUES ('taken')", [])
        }
        applied.withLock { $0.append(delivery.event.id) }
      }
      let events = BusTestSupport.events(source: "/web", count: 40, customers: 1)
      _ = try await client.publish(events.map { $0.encoded() })
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await subscriber.run() }
        let done = await eventually(within: .seconds(30)) {
          let rows = try? await database.query("SELECT COUNT(*) AS n FROM bus_dead_letters", [])
          return applied.withLock { Set($0).count } == 38 && rows?.first?["n"] == .integer(2)
        }
        #expect(done)
        group.cancelAll()
      }
      let dead = try await database.query("SELECT reason FROM bus_dead_letters ORDER BY event_offset", [])
      let reasons = dead.compactMap { row -> String? in
        if case .text(let reason) = row["reason"] { return reason }
        return nil
      }
      #expect(reasons.count == 2)
      #expect(reasons.contains("data.sku: unknown product"))
      #expect(reasons.contains { $0.hasPrefix("handler failed:") }, "\(reasons)")
      // The dead-lettered events' own writes were rolled back; every other effect is there once.
      let effects = try await database.query("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM effects", [])
      #expect(effects.first?["n"] == .integer(38) && effects.first?["d"] == .integer(38))
    }
    #expect(await bus.terminate() == 0)
  }

  /// An event whose handler succeeds but whose transaction fails at `COMMIT` (a deferred foreign
  /// key, checked only then) is dead-lettered with the reason, alone, and the stream goes on: the
  /// events around it are applied, later ones too. Without the fix the batch failed at every
  /// attempt and the subscriber gave up after nine failed steps.
  @Test(arguments: TestDatabases.backends)
  func anEventWhoseTransactionFailsAtCommitIsDeadLettered(backend: TestDatabases.Backend) async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    try await TestDatabases.withDatabase(backend, migrations: BusClientSchema.migrations) { database in
      try await database.execute("CREATE TABLE customers (id TEXT PRIMARY KEY)", [])
      try await database.execute(
        """
        CREATE TABLE orders (
          id TEXT PRIMARY KEY,
          customer TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED
        )
        """, [])
      let subscriber = Subscriber(
        configuration: .init(name: "orders"), database: database, client: client,
        logger: Logger(label: "test")
      ) { delivery, transaction in
        let id = delivery.event.id
        try await transaction.execute(
          "INSERT INTO orders (id, customer) VALUES (?, ?)", [.text(id), .text("c-\(id)")])
        // Every event brings its customer but one: its order's foreign key fails, at COMMIT only.
        if !id.hasSuffix("-13") {
          try await transaction.execute("INSERT INTO customers (id) VALUES (?)", [.text("c-\(id)")])
        }
      }
      // One customer key: one partition, offsets 1…40 then 41…50.
      let outcomes = try await client.publish(
        BusTestSupport.events(source: "/web", count: 40, customers: 1).map { $0.encoded() })
      let partition = try #require(outcomes.first?.partition)
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await subscriber.run() }
        #expect(await eventually(within: .seconds(30)) { await Self.count("orders", database) == 39 })
        _ = try await client.publish(
          BusTestSupport.events(source: "/web", count: 10, customers: 1, prefix: "later").map { $0.encoded() }
        )
        #expect(await eventually(within: .seconds(30)) { await Self.count("orders", database) == 49 })
        group.cancelAll()
      }
      let dead = try await database.query("SELECT event_offset, reason FROM bus_dead_letters", [])
      #expect(dead.count == 1)
      #expect(dead.first?["event_offset"] == .integer(14), "e-13 is the 14th event")
      if case .text(let reason)? = dead.first?["reason"] {
        #expect(reason.hasPrefix("transaction failed:"), "\(reason)")
      } else {
        Issue.record("no reason: \(dead)")
      }
      let checkpoint = try await database.query(
        "SELECT event_offset FROM bus_checkpoints WHERE partition_no = ?", [.integer(Int64(partition))])
      #expect(checkpoint.first?["event_offset"] == .integer(50))
      #expect(await Self.count("customers", database) == 49)
    }
    #expect(await bus.terminate() == 0)
  }

  static func count(_ table: String, _ database: any SQLDatabase) async -> Int64 {
    guard
      case .integer(let n)? = try? await database.query("SELECT COUNT(*) AS n FROM \(table)", []).first?["n"]
    else { return -1 }
    return n
  }
}
