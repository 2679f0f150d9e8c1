import Logging
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Synchronization
import Testing

/// The ``SQLDatabase`` contract, on every backend.
@Suite struct SQLDatabaseTests {
  static let schema = [
    Migration(
      id: "values",
      sqlite: "CREATE TABLE kinds (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB)",
      postgres: "CREATE TABLE kinds (id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA)"),
    Migration(id: "items", sql: "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE)"),
  ]

  @Test(arguments: TestDatabases.backends)
  func roundTripsEveryValueKind(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      let rows: [[SQLValue]] = [
        [
          .integer(1), .integer(Int64.max), .real(3.25), .text("héllo 'quoted' ? mark"),
          .blob([0, 1, 254, 255]),
        ],
        [.integer(2), .integer(Int64.min), .real(-0.5), .text(""), .blob([])],
        [.integer(3), .null, .null, .null, .null],
      ]
      for row in rows {
        let changed = try await db.execute("INSERT INTO kinds (id, i, r, t, b) VALUES (?, ?, ?, ?, ?)", row)
        #expect(changed == 1)
      }
      let read = try await db.query("SELECT id, i, r, t, b FROM kinds ORDER BY id", [])
      #expect(read.map(\.values) == rows)
      #expect(read.first?.columns == ["id", "i", "r", "t", "b"])
      #expect(read.first?["t"] == .text("héllo 'quoted' ? mark"))
      #expect(read.first?["missing"] == .null)

      let filtered = try await db.query("SELECT id FROM kinds WHERE t = '?' OR i = ?", [.integer(Int64.min)])
      #expect(filtered.map { $0["id"] } == [.integer(2)])
    }
  }

  @Test(arguments: TestDatabases.backends)
  func commitsTransaction(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      let count = try await db.transaction { tx in
        try await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("a")])
        try await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(2), .text("b")])
        return try await tx.query("SELECT COUNT(*) AS n FROM items", [])[0]["n"]
      }
      #expect(count == .integer(2))
      #expect(
        try await db.query("SELECT name FROM items ORDER BY id", []).map { $0["name"] } == [
          .text("a"), .text("b"),
        ])
    }
  }

  /// PostgreSQL that never answers (here, nothing listens on the port) fails the open with the URL,
  /// password masked, instead of waiting forever as postgres-nio's pool would.
  /// Our sessions commit durably even on a server whose default is `synchronous_commit=off` (as
  /// the test server's is).
  @Test(arguments: TestDatabases.backends.filter { $0 == .postgres })
  func postgreSQLCommitsAreDurableWhateverTheServersDefault(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { db in
      let setting = try await db.query("SHOW synchronous_commit", []).first?.values.first
      #expect(setting == .text("on"))
    }
  }

  /// A transaction whose session is terminated between two of its statements fails (postgres-nio
  /// drops a statement written to a closed connection without failing it: it used to hang).
  @Test(arguments: TestDatabases.backends.filter { $0 == .postgres })
  func aTransactionWhoseConnectionIsLostFailsInsteadOfHanging(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) {
      (db: any SQLDatabase) async throws in
      let failure = try await withDeadline(.seconds(20), "a transaction on a terminated session") {
        do {
          try await db.transaction { tx in
            try await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("a")])
            let session = try await tx.query("SELECT pg_backend_pid() AS pid", []).first?["pid"] ?? .null
            _ = try await db.query("SELECT pg_terminate_backend(CAST(? AS integer))", [session])
            try await Task.sleep(for: .milliseconds(100))
            try await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(2), .text("b")])
          }
          return nil as StorageError?
        } catch let error as StorageError {
          return error
        }
      }
      #expect(
        failure?.code == .connectionFailed || failure?.code == .statementFailed,
        "\(String(describing: failure))")
      #expect(try await db.query("SELECT id FROM items", []).isEmpty)
    }
  }

  @Test func anUnreachablePostgreSQLIsAnErrorNotAHang() async throws {
    let failure = try await withDeadline(.seconds(30), "open") {
      do {
        try await Database.withDatabase(
          url: "postgres://app:secret@127.0.0.1:1/app", logger: Logger(label: "test"),
          connectTimeout: .seconds(1)
        ) { _ in }
        return nil as StorageError?
      } catch let error as StorageError {
        return error
      }
    }
    #expect(failure?.code == .connectionFailed)
    #expect(failure?.url == "postgres://app:***@127.0.0.1:1/app")
  }

  /// A failed statement whose error the body catches: SQLite undoes that statement and commits the
  /// rest; PostgreSQL has aborted the whole transaction, and the commit says so instead of
  /// reporting success.
  @Test(arguments: TestDatabases.backends)
  func aCaughtStatementErrorNeverPassesForACommit(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      try await db.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("a")])
      var committed = true
      do {
        try await db.transaction { tx in
          try await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(2), .text("b")])
          do {
            try await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("dup")])
          } catch let error as StorageError where error.isUniqueViolation {}
        }
      } catch {
        committed = false
      }
      let names = try await db.query("SELECT name FROM items ORDER BY id", []).map { $0["name"] }
      switch backend {
      case .sqlite:
        #expect(committed)
        #expect(names == [.text("a"), .text("b")])
      case .postgres:
        #expect(!committed, "PostgreSQL rolled back: the transaction must fail")
        #expect(names == [.text("a")])
      }
    }
  }

  @Test(arguments: TestDatabases.backends)
  func rollsBackWhenBodyThrows(_ backend: TestDatabases.Backend) async throws {
    struct Abort: Error {}
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      await #expect(throws: Abort.self) {
        try await db.transaction { tx in
          try await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("a")])
          throw Abort()
        }
      }
      #expect(try await db.query("SELECT id FROM items", []).isEmpty)
      // The database is usable afterwards.
      try await db.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("a")])
      #expect(try await db.query("SELECT id FROM items", []).count == 1)
    }
  }

  @Test(arguments: TestDatabases.backends)
  func rollsBackWhenCancelled(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) {
      (db: any SQLDatabase) async throws in
      // Cancelled once the insert has run inside the transaction, not after a guessed delay.
      let (inserted, insertedSignal) = AsyncStream<Void>.makeStream()
      let task = Task {
        defer { insertedSignal.finish() }
        try await db.transaction { tx in
          try await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("a")])
          insertedSignal.yield()
          try await Task.sleep(for: .seconds(30))
        }
      }
      var waitForInsert = inserted.makeAsyncIterator()
      let insertRan = await waitForInsert.next() != nil
      #expect(insertRan)
      task.cancel()
      await #expect(throws: CancellationError.self) { try await task.value }
      #expect(try await db.query("SELECT id FROM items", []).isEmpty)
    }
  }

  @Test(arguments: TestDatabases.backends)
  func executesBatchOfTenThousandRows(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      let rows = (1...10_000).map { [SQLValue.integer(Int64($0)), .text("item \($0)")] }
      let inserted = try await db.transaction { tx in
        try await tx.executeBatch("INSERT INTO items (id, name) VALUES (?, ?)", rows)
      }
      #expect(inserted == 10_000)
      let summary = try await db.query("SELECT COUNT(*) AS n, SUM(id) AS total FROM items", [])
      #expect(summary.first?["n"] == .integer(10_000))
      #expect(summary.first?["total"] == .integer(50_005_000) || summary.first?["total"] == .real(50_005_000))
      let empty = try await db.transaction { tx in
        try await tx.executeBatch("DELETE FROM items WHERE id = ?", [])
      }
      #expect(empty == 0)
    }
  }

  @Test(arguments: TestDatabases.backends)
  func batchesBindEveryKindOfValue(_ backend: TestDatabases.Backend) async throws {
    let schema = [
      Migration(
        id: "kinds",
        sqlite: "CREATE TABLE kinds (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB)",
        postgres: "CREATE TABLE kinds (id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA)")
    ]
    try await TestDatabases.withDatabase(backend, migrations: schema) { db in
      let rows: [[SQLValue]] = [
        [.integer(1), .integer(Int64.min), .real(-0.5), .text("café ☕️ ?"), .blob([0, 1, 2, 255])],
        [.integer(2), .null, .null, .null, .null],
        [.integer(3), .integer(Int64.max), .real(1e300), .text(""), .blob([])],
      ]
      let inserted = try await db.transaction { tx in
        try await tx.executeBatch("INSERT INTO kinds (id, i, r, t, b) VALUES (?, ?, ?, ?, ?)", rows)
      }
      #expect(inserted == 3)
      let read = try await db.query("SELECT id, i, r, t, b FROM kinds ORDER BY id", [])
      #expect(read.map(\.values) == rows)

      let error = await #expect(throws: StorageError.self) {
        try await db.transaction { tx in
          try await tx.executeBatch(
            "INSERT INTO kinds (id, i) VALUES (?, ?)",
            [[.integer(4), .integer(0)], [.integer(1), .integer(0)]])
        }
      }
      #expect(error?.isUniqueViolation == true)
      #expect(try await db.query("SELECT id FROM kinds WHERE id = 4", []).isEmpty)
    }
  }

  @Test(arguments: TestDatabases.backends)
  func writesBatchesTogetherOrNotAtAll(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      let insert = "INSERT INTO items (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING"
      let changes = try await db.write([
        SQLBatch(insert, [[.integer(1), .text("a")], [.integer(2), .text("b")]]),
        SQLBatch("UPDATE items SET name = name || '!' WHERE id = ?", [[.integer(2)]]),
        SQLBatch("DELETE FROM items WHERE id = ?", []),
      ])
      #expect(changes == [2, 1, 0])
      // The second batch fails: nothing of this write stays, the first batch's update included.
      let failure = await #expect(throws: StorageError.self) {
        try await db.write([
          SQLBatch("UPDATE items SET name = 'changed' WHERE id = 1", [[]]),
          SQLBatch("INSERT INTO items (id, name) VALUES (?, ?)", [[.integer(1), .text("z")]]),
        ])
      }
      #expect(failure?.isUniqueViolation == true)
      let rows = try await db.query("SELECT id, name FROM items ORDER BY id", [])
      #expect(rows.map(\.values) == [[.integer(1), .text("a")], [.integer(2), .text("b!")]])
      // The connection is usable afterwards.
      #expect(try await db.write([SQLBatch(insert, [[.integer(9), .text("z")]])]) == [1])
    }
  }

  /// One holder of a lock at a time: a second waits (told once) until the first is done, writes
  /// under the lock work, and a holder that is told to stop waiting gives up without running.
  @Test(arguments: TestDatabases.backends)
  func exclusiveLockHasOneHolderAtATime(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      let (entered, enter) = AsyncStream<Void>.makeStream()
      let (release, finish) = AsyncStream<Void>.makeStream()
      let first = Task {
        try await db.exclusively("test-lock", waiting: {}, stopWaiting: { false }) { exclusive in
          try await exclusive.execute(
            "INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("first")])
          enter.yield()
          for await _ in release {}
          return "first"
        }
      }
      for await _ in entered { break }

      let waited = Mutex(0)
      let gaveUp = try await db.exclusively(
        "test-lock", waiting: { waited.withLock { $0 += 1 } }, stopWaiting: { true }
      ) { _ in "must not run" }
      #expect(gaveUp == nil)
      let second = Task {
        try await db.exclusively(
          "test-lock", waiting: { waited.withLock { $0 += 1 } }, stopWaiting: { false }
        ) { exclusive in
          try await exclusive.write([
            SQLBatch("INSERT INTO items (id, name) VALUES (?, ?)", [[.integer(2), .text("second")]])
          ])
          return "second"
        }
      }
      #expect(await eventually(within: .seconds(5)) { waited.withLock { $0 } == 2 })
      try await Task.sleep(for: .milliseconds(300))
      #expect(
        try await db.query("SELECT id FROM items WHERE id = 2", []).isEmpty, "the second ran beside the first"
      )
      finish.finish()
      #expect(try await first.value == "first")
      #expect(try await second.value == "second")
      #expect(
        try await db.query("SELECT id FROM items ORDER BY id", []).map(\.values) == [
          [.integer(1)], [.integer(2)],
        ])
      // Released: taken again at once.
      #expect(try await db.exclusively("test-lock", waiting: {}, stopWaiting: { true }) { _ in 3 } == 3)
    }
  }

  @Test(arguments: TestDatabases.backends)
  func reportsUniqueViolation(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      try await db.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(1), .text("a")])
      let error = await #expect(throws: StorageError.self) {
        try await db.execute("INSERT INTO items (id, name) VALUES (?, ?)", [.integer(2), .text("a")])
      }
      #expect(error?.isUniqueViolation == true)
      #expect(error?.statement == "INSERT INTO items (id,")

      let other = await #expect(throws: StorageError.self) {
        try await db.execute("INSERT INTO nowhere (id) VALUES (?)", [.integer(1)])
      }
      #expect(other?.isUniqueViolation == false)
      #expect(other?.code == .statementFailed)
    }
  }

  @Test(arguments: TestDatabases.backends)
  func countsRowsInsertedOnConflictDoNothing(_ backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Self.schema) { db in
      let insert = "INSERT INTO items (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING"
      #expect(try await db.execute(insert, [.integer(1), .text("a")]) == 1)
      #expect(try await db.execute(insert, [.integer(1), .text("a")]) == 0)
      let inserted = try await db.transaction { tx in
        try await tx.executeBatch(
          insert, [[.integer(1), .text("a")], [.integer(2), .text("b")], [.integer(3), .text("b")]])
      }
      #expect(inserted == 1)
      #expect(try await db.execute("UPDATE items SET name = name || '!'", []) == 2)
      #expect(try await db.execute("CREATE TABLE other (id BIGINT)", []) == 0)
    }
  }

  @Test(arguments: TestDatabases.backends)
  func serialisesConcurrentTransactions(_ backend: TestDatabases.Backend) async throws {
    let schema =
      Self.schema + [
        Migration(id: "counter", sql: "CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
      ]
    try await TestDatabases.withDatabase(backend, migrations: schema) { db in
      try await db.execute("INSERT INTO counter (id, n) VALUES (1, 0)", [])
      let tasks = 20
      let increments = 5
      let seen = try await withThrowingTaskGroup(of: [SQLValue].self) { group in
        for _ in 0..<tasks {
          group.addTask {
            var seen: [SQLValue] = []
            for _ in 0..<increments {
              let value = try await db.transaction { tx in
                try await tx.execute("UPDATE counter SET n = n + 1 WHERE id = 1", [])
                await Task.yield()
                return try await tx.query("SELECT n FROM counter WHERE id = 1", [])[0]["n"]
              }
              seen.append(value)
            }
            return seen
          }
        }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      let total = Int64(tasks * increments)
      #expect(try await db.query("SELECT n FROM counter", [])[0]["n"] == .integer(total))
      // Serialised: every transaction saw its own increment and nobody else's uncommitted one.
      #expect(Set(seen) == Set((1...total).map(SQLValue.integer)))
    }
  }
}
