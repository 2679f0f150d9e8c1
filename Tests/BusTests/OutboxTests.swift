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
      for start in stride(from: 0, to: events.count, by: 100) {
        try await publisher.publish(Array(events[start..<(start + 100)]))
      }
      #expect(try await publisher.pending() == events.count)
      let sender = OutboxSender(database: database, client: client, logger: Logger(label: "test"))
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await sender.run() }
        try await Task.sleep(for: .seconds(1))
        #expect(try await publisher.pending() == events.count, "nothing can leave while the bus is down")
        try await bus.start()
        #expect(try await eventually(within: .seconds(60)) { try await publisher.pending() == 0 })
        group.cancelAll()
      }
    }
    let stored = try await BusTestSupport.readJournal(client)
    #expect(stored.count == events.count)
    #expect(BusTestSupport.orderProblem(stored) == nil, "\(BusTestSupport.orderProblem(stored) ?? "")")
    #expect(await bus.terminate() == 0)
  }
}
