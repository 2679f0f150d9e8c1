import Logging
import NIOCore
import PostgresNIO

/// Statements on one leased connection; ``PostgresDatabase`` opens and closes the transaction.
struct PostgresTransaction: SQLTransaction, ScriptExecuting {
  /// How many statements of a batch are queued on the connection before awaiting their results.
  private static let batchWindow = 256

  let connection: PostgresConnection
  let logger: Logger

  var dialect: SQLDialect { .postgres }

  @discardableResult
  func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> Int {
    let result = try await Self.await(send(SQLLexer.renumber(sql), bindings), sql: sql)
    return Self.changes(result)
  }

  @discardableResult
  func executeBatch(_ sql: String, _ rows: [[SQLValue]]) async throws -> Int {
    let numbered = SQLLexer.renumber(sql)
    var changes = 0
    var start = rows.startIndex
    while start < rows.endIndex {
      let end = min(start + Self.batchWindow, rows.endIndex)
      // The connection runs queued statements in order; queueing a window saves a hop per row.
      let pending = rows[start..<end].map { send(numbered, $0) }
      for future in pending {
        changes += Self.changes(try await Self.await(future, sql: sql))
      }
      start = end
    }
    return changes
  }

  func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
    let result = try await Self.await(send(SQLLexer.renumber(sql), bindings), sql: sql)
    return try result.rows.map { row in
      var columns: [String] = []
      var values: [SQLValue] = []
      for cell in row {
        columns.append(cell.columnName)
        values.append(try SQLValue(cell))
      }
      return SQLRow(columns: columns, values: values)
    }
  }

  /// Runs the statements of `sql` one by one (postgres-nio speaks only the extended protocol,
  /// which takes one statement at a time). A `?` in a script is not a placeholder.
  func executeScript(_ sql: String) async throws {
    for statement in SQLLexer.statements(sql) {
      _ = try await Self.await(send(statement, []), sql: statement)
    }
  }

  /// Rolls back after `error`, logging (at debug) rather than throwing if that fails too.
  func rollback(after error: any Error) async {
    do {
      try await execute("ROLLBACK", [])
      logger.debug("rolled back", metadata: ["cause": "\(error)"])
    } catch {
      logger.debug("rollback failed", metadata: ["error": "\(error)"])
    }
  }

  private func send(_ sql: String, _ bindings: [SQLValue]) -> EventLoopFuture<PostgresQueryResult> {
    connection.query(PostgresQuery(unsafeSQL: sql, binds: PostgresBindings(bindings)), logger: logger)
  }

  private static func await(
    _ future: EventLoopFuture<PostgresQueryResult>, sql: String
  ) async throws -> PostgresQueryResult {
    do {
      return try await future.get()
    } catch {
      throw StorageError(postgres: error, sql: sql)
    }
  }

  /// Rows changed, from the command tag (`INSERT 0 3`, `UPDATE 2`, …); 0 for other commands.
  private static func changes(_ result: PostgresQueryResult) -> Int {
    switch result.metadata.command {
    case "INSERT", "UPDATE", "DELETE": result.metadata.rows ?? 0
    default: 0
    }
  }
}
