import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Synchronization
import Testing

/// A handler that rejects an event sends it to a dead-letter record, and the stream goes on.
@Suite struct DeadLetterTests {
  @Test func rejectedEventsAreDeadLetteredAndTheRestApplied() async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let applied = Mutex<[String]>([])
    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { database in
      let subscriber = Subscriber(
        configuration: .init(name: "picky"), database: database, client: client, logger: Logger(label: "test")
      ) { delivery, transaction in
        try await transaction.execute("CREATE TABLE IF NOT EXISTS effects (id TEXT)", [])
        try await transaction.execute("INSERT INTO effects (id) VALUES (?)", [.text(delivery.event.id)])
        if delivery.event.id.hasSuffix("-13") { throw Subscriber.Rejection("data.sku: unknown product") }
        applied.withLock { $0.append(delivery.event.id) }
      }
      let events = BusTestSupport.events(source: "/web", count: 40, customers: 1)
      _ = try await client.publish(events.map { $0.encoded() })
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await subscriber.run() }
        let done = await eventually(within: .seconds(30)) {
          let rows = try? await database.query("SELECT COUNT(*) AS n FROM bus_dead_letters", [])
          return applied.withLock { Set($0).count } == 39 && rows?.first?["n"] == .integer(1)
        }
        #expect(done)
        group.cancelAll()
      }
      let dead = try await database.query("SELECT event_offset, reason FROM bus_dead_letters", [])
      #expect(dead.first?["reason"] == .text("data.sku: unknown product"))
      // The rejected event's own writes were rolled back; every other effect is there once.
      let effects = try await database.query("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM effects", [])
      #expect(effects.first?["n"] == .integer(39) && effects.first?["d"] == .integer(39))
    }
    #expect(await bus.terminate() == 0)
  }
}
