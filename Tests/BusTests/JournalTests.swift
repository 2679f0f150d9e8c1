import Foundation
import PasserelleBroker
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import Testing

/// The journal alone, on SQLite and PostgreSQL: offsets, idempotency, fetch, retention.
@Suite struct JournalTests {
  static func entries(_ events: [CloudEvent]) -> [Journal.Entry] {
    events.map { Journal.Entry(event: $0, body: $0.encoded()) }
  }

  @Test(arguments: TestDatabases.backends)
  func offsetsAreGaplessAndDuplicatesKeepTheirPosition(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 4)
      let events = BusTestSupport.events(source: "/j", count: 200, customers: 7)
      let first = try await journal.append(Self.entries(events) + Self.entries([events[0]]))
      #expect(first.prefix(200).allSatisfy { $0.status == .stored })
      #expect(first[200].status == .duplicate && first[200].position == first[0].position)
      let again = try await journal.append(Self.entries(Array(events[100..<110])))
      #expect(again.map(\.position) == first[100..<110].map(\.position))
      #expect(again.allSatisfy { $0.status == .duplicate })
      for partition in 0..<4 {
        let offsets = first.prefix(200).filter { $0.position.partition == partition }.map(\.position.offset)
        #expect(offsets == Array(1...Int64(offsets.count)))
      }
      let heads = await journal.currentHeads
      #expect(heads.reduce(0, +) == 200)
      // Reopening keeps the heads; another partition count is refused.
      #expect(await (try Journal(database: database, partitions: 4)).currentHeads == heads)
      await #expect(throws: ProtocolError.self) { _ = try await Journal(database: database, partitions: 8) }
    }
  }

  @Test(arguments: TestDatabases.backends)
  func fetchPagesFiltersAndReportsTheHead(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 1)
      _ = try await journal.append(Self.entries(BusTestSupport.events(source: "/j", count: 30)))
      let page = try await journal.fetch(FetchRequest(partition: 0, from: 1, max: 10))
      #expect(page.header.offsets == Array(1...10))
      #expect(page.header.next == 11 && page.header.head == 30)
      let purchases = try await journal.fetch(
        FetchRequest(partition: 0, from: 1, max: 100, prefixes: ["pos."]))
      #expect(purchases.header.offsets == stride(from: 1, through: 30, by: 3).map(Int64.init))
      #expect(purchases.header.next == 31)
      // `_` in a prefix is literal, not a LIKE wildcard.
      let none = try await journal.fetch(FetchRequest(partition: 0, from: 1, max: 100, prefixes: ["pos_"]))
      #expect(none.header.offsets.isEmpty && none.header.next == 31)
      await #expect(throws: ProtocolError.self) {
        _ = try await journal.fetch(FetchRequest(partition: 3, from: 1, max: 1))
      }
    }
  }

  @Test(arguments: TestDatabases.backends)
  func retentionByAgeAndSizeKeepsOffsets(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 1)
      _ = try await journal.append(Self.entries(BusTestSupport.events(source: "/old", count: 50)))
      #expect(try await journal.prune(storedBefore: Date().addingTimeInterval(-3600), maxBytes: nil) == 0)
      #expect(try await journal.prune(storedBefore: Date().addingTimeInterval(1), maxBytes: nil) == 50)
      _ = try await journal.append(Self.entries(BusTestSupport.events(source: "/new", count: 3_000)))
      let (_, bytes) = try await journal.size()
      let removed = try await journal.prune(storedBefore: nil, maxBytes: bytes / 2)
      #expect(removed >= 1_000)
      #expect(try await journal.size().bytes <= bytes / 2)
      let page = try await journal.fetch(FetchRequest(partition: 0, from: 1, max: 5))
      #expect(page.header.low == Int64(51 + removed))
      #expect(page.header.offsets.first == page.header.low)
      #expect(page.header.head == 3_050)
    }
  }
}
