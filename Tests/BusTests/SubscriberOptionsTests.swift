import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Testing

/// The subscriber's options beyond the defaults: type prefixes (events of other types move the
/// position without a write), a fixed set of partitions and a start offset.
@Suite struct SubscriberOptionsTests {
  /// Runs `subscriber` until `done` holds (60 s at most), then stops it.
  static func run(_ subscriber: Subscriber, until done: @escaping @Sendable () async -> Bool) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await subscriber.run() }
      #expect(await eventually(within: .seconds(60)) { await done() })
      group.cancelAll()
    }
  }

  static func count(_ sql: String, _ database: any SQLDatabase) async -> Int64 {
    guard case .integer(let n)? = try? await database.query(sql, []).first?["n"] else { return -1 }
    return n
  }

  @Test func typePrefixesApplyOnlyTheirEventsOnceAcrossARestart() async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    // One in three is a `pos.` event (BusTestSupport.events): 100 of 300, then 10 of 30.
    _ = try await client.publish(BusTestSupport.events(source: "/mixed", count: 300).map { $0.encoded() })
    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { database in
      try await database.execute("CREATE TABLE effects (id TEXT NOT NULL, type TEXT NOT NULL)", [])
      func subscriber() throws -> Subscriber {
        Subscriber(
          configuration: .init(name: "tills", prefixes: ["pos."]), database: database,
          client: try BusTestSupport.client(bus), logger: Logger(label: "test")
        ) { delivery, transaction in
          try await transaction.execute(
            "INSERT INTO effects (id, type) VALUES (?, ?)",
            [.text(delivery.event.id), .text(delivery.event.type)])
        }
      }
      try await Self.run(try subscriber()) {
        await Self.count("SELECT COUNT(*) AS n FROM effects", database) == 100
      }
      // Stopped, then more events, then the same subscriber again: it goes on from its position.
      _ = try await client.publish(
        BusTestSupport.events(source: "/mixed", count: 30, prefix: "later").map { $0.encoded() })
      try await Self.run(try subscriber()) {
        await Self.count("SELECT COUNT(*) AS n FROM effects", database) == 110
      }
      // Counted again once stopped: a repeat applied after the wait would show here.
      #expect(await Self.count("SELECT COUNT(*) AS n FROM effects", database) == 110)
      #expect(await Self.count("SELECT COUNT(DISTINCT id) AS n FROM effects", database) == 110)
      #expect(
        await Self.count("SELECT COUNT(*) AS n FROM effects WHERE type NOT LIKE 'pos.%'", database) == 0)
    }
    #expect(await bus.terminate() == 0)
  }

  @Test func aFixedPartitionFromAnOffset() async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    // One customer: every event in one partition, offsets 1…120.
    let outcomes = try await client.publish(
      BusTestSupport.events(source: "/one", count: 120, customers: 1).map { $0.encoded() })
    let partition = try #require(outcomes.first?.partition)
    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { database in
      try await database.execute(
        "CREATE TABLE effects (partition_no INTEGER NOT NULL, event_offset INTEGER NOT NULL)", [])
      let subscriber = Subscriber(
        configuration: .init(name: "replay", assignment: .fixed([partition]), start: .offset(101)),
        database: database, client: client, logger: Logger(label: "test")
      ) { delivery, transaction in
        try await transaction.execute(
          "INSERT INTO effects (partition_no, event_offset) VALUES (?, ?)",
          [.integer(Int64(delivery.position.partition)), .integer(delivery.position.offset)])
      }
      try await Self.run(subscriber) { await Self.count("SELECT COUNT(*) AS n FROM effects", database) == 20 }
      #expect(await Self.count("SELECT COUNT(*) AS n FROM effects", database) == 20)
      #expect(await Self.count("SELECT COUNT(DISTINCT event_offset) AS n FROM effects", database) == 20)
      #expect(await Self.count("SELECT MIN(event_offset) AS n FROM effects", database) == 101)
      #expect(await Self.count("SELECT MAX(event_offset) AS n FROM effects", database) == 120)
      #expect(
        await Self.count("SELECT COUNT(*) AS n FROM effects WHERE partition_no <> \(partition)", database)
          == 0)
    }
    #expect(await bus.terminate() == 0)
  }
}
