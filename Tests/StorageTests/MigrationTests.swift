import PasserelleStorage
import PasserelleStorageTestKit
import Testing

/// ``SQLDatabase/migrate(_:)`` on every backend.
@Suite struct MigrationTests {
  static let migrations = [
    Migration(id: "one", sql: "CREATE TABLE one (id BIGINT PRIMARY KEY); INSERT INTO one (id) VALUES (1)"),
    Migration(
      id: "two", sqlite: "CREATE TABLE two (id INTEGER PRIMARY KEY AUTOINCREMENT)",
      postgres: "CREATE TABLE two (id BIGSERIAL PRIMARY KEY)"),
  ]

  @Test(arguments: TestDatabases.backends)
  func appliesOnceAndReRunIsNoOp(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { db in
      #expect(try await db.migrate(Self.migrations) == ["one", "two"])
      #expect(try await db.migrate(Self.migrations) == [])
      #expect(try await db.query("SELECT id FROM one", []).count == 1)
      let recorded = try await db.query("SELECT id FROM passerelle_migrations ORDER BY id", [])
      #expect(recorded.map { $0["id"] } == [.text("one"), .text("two")])

      let three = Migration(id: "three", sql: "ALTER TABLE one ADD COLUMN label TEXT")
      #expect(try await db.migrate(Self.migrations + [three]) == ["three"])
    }
  }

  @Test(arguments: TestDatabases.backends)
  func concurrentMigratorsApplyEachOnce(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { db in
      let applied = try await withThrowingTaskGroup(of: [String].self) { group in
        for _ in 0..<4 { group.addTask { try await db.migrate(Self.migrations) } }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      #expect(applied.sorted() == ["one", "two"])
      #expect(try await db.query("SELECT id FROM one", []).count == 1)
    }
  }

  @Test(arguments: TestDatabases.backends)
  func failedMigrationLeavesNothing(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { db in
      let broken = Migration(id: "broken", sql: "CREATE TABLE half (id BIGINT); CREATE TABLE oops (")
      let error = await #expect(throws: StorageError.self) { try await db.migrate([broken]) }
      #expect(error?.code == .migrationFailed)
      #expect(error?.statement == "broken")
      let recorded = try await db.query("SELECT id FROM passerelle_migrations", [])
      #expect(recorded.isEmpty)
      // The half-applied table was rolled back with the migration.
      let applied = try await db.migrate([Migration(id: "half", sql: "CREATE TABLE half (id BIGINT)")])
      #expect(applied == ["half"])
    }
  }

  @Test func rejectsDuplicateIDs() async throws {
    try await TestDatabases.withDatabase(.sqlite) { db in
      let error = await #expect(throws: StorageError.self) {
        try await db.migrate([Migration(id: "a", sql: "SELECT 1"), Migration(id: "a", sql: "SELECT 2")])
      }
      #expect(error?.code == .migrationFailed)
    }
  }
}
