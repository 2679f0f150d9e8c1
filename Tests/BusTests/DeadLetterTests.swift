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
}
