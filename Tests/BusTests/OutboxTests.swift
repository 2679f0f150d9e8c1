import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Testing

/// Issue 4, test 4: a publisher whose bus is down keeps accepting; its outbox drains in order.
@Suite struct OutboxTests {
  @Test(arguments: TestDatabases.backends)
  func publishingWorksWhileTheBusIsDownAndDrainsInOrder(backend: TestDatabases.Backend) async throws {
    let bus = try TestBus()  // not started yet: the bus is down
    let client = try BusTestSupport.client(bus)
    let events = BusTestSupport.events(source: "/store/lyon-1", count: 2_000)
    try await TestDatabases.withDatabase(backend, migrations: BusClientSchema.migrations) { database in
      let publisher = Publisher(database: database)
      let sender = OutboxSender(database: database, client: client, logger: Logger(label: "test"))
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await sender.run() }
        // Publishing goes on while the sender keeps failing to reach the bus…
        for start in stride(from: 0, to: 1_000, by: 100) {
          try await publisher.publish(Array(events[start..<(start + 100)]))
        }
        try await Task.sleep(for: .seconds(1))
        #expect(try await publisher.pending() == 1_000, "nothing can leave while the bus is down")
        try await bus.start()
        // …and while the outbox drains.
        for start in stride(from: 1_000, to: events.count, by: 100) {
          try await publisher.publish(Array(events[start..<(start + 100)]))
        }
        #expect(try await eventually(within: .seconds(60)) { try await publisher.pending() == 0 })
        group.cancelAll()
      }
    }
    let stored = try await BusTestSupport.readJournal(client)
    #expect(stored.count == events.count)
    #expect(Set(stored.map(\.id)) == Set(events.map(\.id)), "every event published, each once")
    #expect(BusTestSupport.orderProblem(stored) == nil, "\(BusTestSupport.orderProblem(stored) ?? "")")
    #expect(await bus.terminate() == 0)
  }

  /// An event larger than the bus takes is refused by `publish`; one already in an outbox (written
  /// before that check) is set aside as rejected, and the events behind it still drain.
  @Test(arguments: TestDatabases.backends)
  func anEventTooLargeForTheBusDoesNotBlockTheOutbox(backend: TestDatabases.Backend) async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let large = CloudEvent(
      id: "too-large", source: "/store/lyon-1", type: "pos.receipt.v1", time: Date(),
      data: .string(String(repeating: "x", count: BusLimits.maximumEventBytes)), partitionKey: "customer-1")
    try await TestDatabases.withDatabase(backend, migrations: BusClientSchema.migrations) { database in
      let publisher = Publisher(database: database)
      await #expect(throws: ProtocolError.self) { try await publisher.publish(large) }
      #expect(try await publisher.pending() == 0)
      try await publisher.publish(BusTestSupport.events(source: "/store/lyon-1", count: 5, prefix: "before"))
      try await database.execute(
        "INSERT INTO bus_outbox (event_id, body, created_at) VALUES (?, ?, ?)",
        [.text(large.id), .blob(large.encoded()), .integer(0)])
      try await publisher.publish(BusTestSupport.events(source: "/store/lyon-1", count: 5, prefix: "after"))
      let sender = OutboxSender(database: database, client: client, logger: Logger(label: "test"))
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await sender.run() }
        let drained = try await eventually(within: .seconds(30)) { try await publisher.pending() == 0 }
        #expect(drained)
        group.cancelAll()
      }
      let rejected = try await publisher.rejected()
      #expect(rejected.map(\.eventId) == ["too-large"] && rejected.first?.field == "$")
    }
    #expect(
      try await BusTestSupport.readJournal(client).map(\.id).sorted()
        == (0..<5).flatMap { ["after-\($0)", "before-\($0)"] }.sorted())
    #expect(await bus.terminate() == 0)
  }
}
