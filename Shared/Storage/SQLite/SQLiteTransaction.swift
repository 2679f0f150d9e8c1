import GRDB
import GRDBSQLite

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
    return try await access(sql) { db in try Self.run(sql, rows, in: db) }
  }

  /// Runs `sql` once per row on one cached statement, values bound straight from `SQLValue`
  /// (no `StatementArguments`, no `Data` copy of blobs), and returns the rows changed.
  static func run(_ sql: String, _ rows: [[SQLValue]], in db: GRDB.Database) throws -> Int {
    let statement = try db.cachedStatement(sql: sql)
    let handle = statement.sqliteStatement
    defer {
      sqlite3_reset(handle)
      sqlite3_clear_bindings(handle)
    }
    var changes = 0
    for row in rows {
      sqlite3_reset(handle)
      for (index, value) in row.enumerated() {
        let code = bind(value, at: Int32(index + 1), to: handle)
        guard code == SQLITE_OK else { throw error(code, db, sql) }
      }
      let before = sqlite3_total_changes64(db.sqliteConnection)
      var code = sqlite3_step(handle)
      while code == SQLITE_ROW { code = sqlite3_step(handle) }
      guard code == SQLITE_DONE else { throw error(code, db, sql) }
      // Like `run(_:in:)`: a statement that changed nothing leaves `sqlite3_changes` as it was.
      if sqlite3_total_changes64(db.sqliteConnection) != before {
        changes += Int(sqlite3_changes64(db.sqliteConnection))
      }
    }
    return changes
  }

  /// Binds one value with `SQLITE_TRANSIENT` (SQLite copies it before this returns).
  private static func bind(_ value: SQLValue, at index: Int32, to handle: SQLiteStatement) -> Int32 {
    switch value {
    case .null: sqlite3_bind_null(handle, index)
    case .integer(let integer): sqlite3_bind_int64(handle, index, integer)
    case .real(let real): sqlite3_bind_double(handle, index, real)
    case .text(let text): sqlite3_bind_text(handle, index, text, -1, transient)
    case .blob(let bytes):
      // A null pointer would bind NULL, so an empty blob is bound as a zero-length blob.
      bytes.isEmpty
        ? sqlite3_bind_zeroblob(handle, index, 0)
        : bytes.withUnsafeBytes {
          sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient)
        }
    }
  }

  /// SQLite's "copy the value now" destructor.
  private static let transient = unsafeBitCast(
    OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

  private static func error(_ code: Int32, _ db: GRDB.Database, _ sql: String) -> DatabaseError {
    DatabaseError(
      resultCode: ResultCode(rawValue: sqlite3_extended_errcode(db.sqliteConnection)),
      message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
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
