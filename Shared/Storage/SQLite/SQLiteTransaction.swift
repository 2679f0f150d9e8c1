import GRDB

/// Statements on the SQLite connection while ``SQLiteDatabase`` holds its lock for the caller.
///
/// Each method is one GRDB access; the transaction itself is opened and closed by the database.
struct SQLiteTransaction: SQLTransaction, ScriptExecuting {
  let queue: DatabaseQueue

  var dialect: SQLDialect { .sqlite }

  @discardableResult
  func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> Int {
    try await access(sql) { db in
      let statement = try db.makeStatement(sql: sql)
      try statement.setArguments(StatementArguments(bindings.map(\.databaseValue)))
      return try Self.run(statement, in: db)
    }
  }

  @discardableResult
  func executeBatch(_ sql: String, _ rows: [[SQLValue]]) async throws -> Int {
    guard !rows.isEmpty else { return 0 }
    return try await access(sql) { db in
      let statement = try db.makeStatement(sql: sql)
      var changes = 0
      for row in rows {
        try statement.setArguments(StatementArguments(row.map(\.databaseValue)))
        changes += try Self.run(statement, in: db)
      }
      return changes
    }
  }

  func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
    try await access(sql) { db in
      let statement = try db.makeStatement(sql: sql)
      try statement.setArguments(StatementArguments(bindings.map(\.databaseValue)))
      let columns = statement.columnNames
      let cursor = try Row.fetchCursor(statement)
      var rows: [SQLRow] = []
      while let row = try cursor.next() {
        rows.append(SQLRow(columns: columns, values: row.databaseValues.map(SQLValue.init)))
      }
      return rows
    }
  }

  func executeScript(_ sql: String) async throws {
    try await access(sql) { db in try db.execute(sql: sql) }
  }

  /// Executes `statement` and returns the rows it changed (0 for statements that change none).
  private static func run(_ statement: Statement, in db: GRDB.Database) throws -> Int {
    let before = db.totalChangesCount
    try statement.execute()
    return db.totalChangesCount == before ? 0 : db.changesCount
  }

  private func access<T: Sendable>(
    _ sql: String, _ work: @Sendable (GRDB.Database) throws -> T
  ) async throws -> T {
    do {
      return try await queue.writeWithoutTransaction(work)
    } catch let error as DatabaseError {
      throw StorageError(sqlite: error, sql: sql)
    }
  }
}
