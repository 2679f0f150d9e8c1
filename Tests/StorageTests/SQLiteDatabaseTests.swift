import PasserelleStorage
import PasserelleStorageTestKit
import Testing

/// What only SQLite promises: durable commits.
@Suite struct SQLiteDatabaseTests {
  @Test func commitsAreDurable() async throws {
    try await TestDatabases.withDatabase(.sqlite) { db in
      let journalMode = try await db.query("PRAGMA journal_mode", [])
      let synchronous = try await db.query("PRAGMA synchronous", [])
      #expect(journalMode.first?.values == [.text("wal")])
      #expect(synchronous.first?.values == [.integer(2)])  // FULL
    }
  }
}
