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
  /// (no `StatementArguments`, no copy of texts and blobs: SQLite reads them in place while the
  /// row's step runs), and returns the rows changed.
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
      let before = sqlite3_total_changes64(db.sqliteConnection)
      let code = try bindAndStep(row, from: 0, handle, db, sql)
      guard code == SQLITE_DONE else { throw error(code, db, sql) }
      // Like `run(_:in:)`: a statement that changed nothing leaves `sqlite3_changes` as it was.
      if sqlite3_total_changes64(db.sqliteConnection) != before {
        changes += Int(sqlite3_changes64(db.sqliteConnection))
      }
    }
    return changes
  }

  /// Binds `row[index...]` and steps the statement to its end while texts and blobs are still in
  /// scope: they are bound with `SQLITE_STATIC`, so SQLite reads them where they are, and must not
  /// be read after their closure returns (the next row binds every parameter again).
  private static func bindAndStep(
    _ row: [SQLValue], from index: Int, _ handle: SQLiteStatement, _ db: GRDB.Database, _ sql: String
  ) throws -> Int32 {
    guard index < row.count else {
      var code = sqlite3_step(handle)
      while code == SQLITE_ROW { code = sqlite3_step(handle) }
      return code
    }
    let parameter = Int32(index + 1)
    func bound(_ code: Int32) throws -> Int32 {
      guard code == SQLITE_OK else { throw error(code, db, sql) }
      return try bindAndStep(row, from: index + 1, handle, db, sql)
    }
    switch row[index] {
    case .null: return try bound(sqlite3_bind_null(handle, parameter))
    case .integer(let integer): return try bound(sqlite3_bind_int64(handle, parameter, integer))
    case .real(let real): return try bound(sqlite3_bind_double(handle, parameter, real))
    case .text(var text):
      return try text.withUTF8 { utf8 in
        // A null pointer would bind NULL: an empty text is bound from a static empty C string.
        guard let base = utf8.baseAddress else {
          return try bound(sqlite3_bind_text(handle, parameter, "", 0, nil))
        }
        return try bound(
          sqlite3_bind_text(
            handle, parameter, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
            Int32(utf8.count), nil))
      }
    case .blob(let bytes):
      // A null pointer would bind NULL, so an empty blob is bound as a zero-length blob.
      guard !bytes.isEmpty else { return try bound(sqlite3_bind_zeroblob(handle, parameter, 0)) }
      return try bytes.withUnsafeBytes { buffer in
        try bound(sqlite3_bind_blob(handle, parameter, buffer.baseAddress, Int32(buffer.count), nil))
      }
    }
  }

  private static func error(_ code: Int32, _ db: GRDB.Database, _ sql: String) -> DatabaseError {
    DatabaseError(
      resultCode: ResultCode(rawValue: sqlite3_extended_errcode(db.sqliteConnection)),
      message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
  }

  func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
    try await access(sql) { db in try Self.rows(sql, bindings, in: db) }
  }

  /// Runs one query on `db` and returns every row it yields.
  static func rows(_ sql: String, _ bindings: [SQLValue], in db: GRDB.Database) throws -> [SQLRow] {
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
