import Foundation
import Logging
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Synchronization
import Testing

@testable import PasserelleBus

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

  /// A batch stops before its bodies pass 256 KiB (at least one event goes), so that on a slow
  /// link it uploads within the PUBLISH timeout. Fails without the byte cap (all ten in one batch).
  @Test(arguments: TestDatabases.backends)
  func aBatchStopsAtItsByteBudget(backend: TestDatabases.Backend) async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let events = (0..<10).map { index in
      CloudEvent(
        id: "large-\(index)", source: "/store/lyon-1", type: "pos.receipt.v1", time: Date(),
        data: .string(String(repeating: "x", count: 100 * 1024)), partitionKey: "customer-1")
    }
    try await TestDatabases.withDatabase(backend, migrations: BusClientSchema.migrations) { database in
      let publisher = Publisher(database: database)
      try await publisher.publish(events)
      let sender = OutboxSender(database: database, client: client, logger: Logger(label: "test"))
      #expect(try await sender.sendBatch())
      #expect(try await publisher.pending() == 8, "two events of 100 KiB fit in 256 KiB, not three")
      for _ in 0..<10 where try await publisher.pending() > 0 { try await sender.sendBatch() }
      #expect(try await publisher.pending() == 0)
    }
    #expect(try await client.info().heads.reduce(0, +) == 10)
    #expect(await bus.terminate() == 0)
  }

  /// A row whose columns are not what `Publisher` writes (here a text body, written by hand) is
  /// set aside as rejected with the reason, not skipped forever (SQLite: PostgreSQL's types do
  /// not allow such a row). Fails without the fix: the row stays in the outbox.
  @Test func anUnreadableRowIsSetAside() async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { database in
      let publisher = Publisher(database: database)
      try await publisher.publish(BusTestSupport.events(source: "/store/lyon-1", count: 3, prefix: "before"))
      try await database.execute(
        "INSERT INTO bus_outbox (event_id, body, created_at) VALUES ('by-hand', 'not a blob', 0)", [])
      try await publisher.publish(BusTestSupport.events(source: "/store/lyon-1", count: 3, prefix: "after"))
      let sender = OutboxSender(database: database, client: client, logger: Logger(label: "test"))
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await sender.run() }
        let drained = try await eventually(within: .seconds(20)) { try await publisher.pending() == 0 }
        #expect(drained)
        group.cancelAll()
      }
      let rejected = try await publisher.rejected()
      #expect(rejected.map(\.eventId) == ["by-hand"])
      #expect(rejected.first?.reason.hasPrefix("unreadable outbox row") == true, "\(rejected)")
    }
    #expect(try await BusTestSupport.readJournal(client).count == 6)
    #expect(await bus.terminate() == 0)
  }

  /// Failing to deliver is warned about (it was logged at debug only), naming the endpoint and
  /// the error; here the bus refuses every request for good (`ERROR` on `command`: the ingest
  /// endpoint is set to the query socket), a configuration fault that must not throw the events
  /// away. Fails without the fix: no warning.
  @Test func lastingFailureIsWarnedAboutWithTheEndpointAndTheError() async throws {
    let bus = try TestBus()
    try await bus.start()
    let misdirected = try BusClient(
      endpoints: BusEndpoints(ingest: bus.query, live: bus.live, query: bus.query))
    let records = RecordedLogs()
    let logger = Logger(label: "test") { _ in records.handler }
    try await TestDatabases.withDatabase(.sqlite, migrations: BusClientSchema.migrations) { database in
      let publisher = Publisher(database: database)
      try await publisher.publish(BusTestSupport.events(source: "/store/lyon-1", count: 3))
      let sender = OutboxSender(database: database, client: misdirected, logger: logger)
      await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await sender.run() }
        #expect(await eventually(within: .seconds(20)) { !records.warnings.isEmpty })
        group.cancelAll()
      }
      let warning = try #require(records.warnings.first)
      #expect(warning.message == "outbox cannot deliver to the bus")
      #expect(warning.metadata["endpoint"] == bus.query)
      #expect(warning.metadata["error"]?.contains("command") == true, "\(warning.metadata)")
      #expect(records.warnings.count == 1, "then at most once a minute")
      #expect(try await publisher.pending() == 3, "kept for when the endpoint is fixed")
      #expect(try await publisher.rejected().isEmpty)
    }
    #expect(await bus.terminate() == 0)
  }

  /// The next batch after a timeout is half the last one (down to one event), and grows back.
  @Test func theBatchLimitHalvesAfterATimeoutAndGrowsBack() {
    var limit = BatchLimit(maximum: 500)
    limit.shrink(after: 500)
    #expect(limit.current == 250)
    limit.shrink(after: 120)  // a batch cut short by its bytes
    #expect(limit.current == 60)
    for _ in 0..<10 { limit.shrink(after: limit.current) }
    #expect(limit.current == 1)
    limit.grow()
    #expect(limit.current == 2)
    for _ in 0..<20 { limit.grow() }
    #expect(limit.current == 500)
  }
}

/// Keeps what a logger writes at warning level and above, for tests that check a warning.
final class RecordedLogs: Sendable {
  struct Record: Sendable {
    let message: String
    let metadata: [String: String]
  }

  private let records = Mutex<[Record]>([])

  var warnings: [Record] { records.withLock { $0 } }

  var handler: Handler { Handler(records: self) }

  fileprivate func append(_ record: Record) { records.withLock { $0.append(record) } }

  struct Handler: LogHandler {
    let records: RecordedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
      guard event.level >= .warning else { return }
      let merged = metadata.merging(event.metadata ?? [:]) { $1 }
      records.append(Record(message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
    }
  }
}
