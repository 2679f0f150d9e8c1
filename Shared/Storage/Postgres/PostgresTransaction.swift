import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Statements on one leased connection; ``PostgresDatabase`` opens and closes the transaction.
struct PostgresTransaction: SQLTransaction, ScriptExecuting {
  let connection: PostgresConnection
  let logger: Logger

  var dialect: SQLDialect { .postgres }

  @discardableResult
  func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> Int {
    let result = try await result(of: send(SQLLexer.renumber(sql), bindings), sql: sql)
    return Self.changes(result)
  }

  @discardableResult
  func executeBatch(_ sql: String, _ rows: [[SQLValue]]) async throws -> Int {
    var changes = 0
    for future in sendBatch(sql, rows) {
      changes += Self.changes(try await result(of: future, sql: sql))
    }
    return changes
  }

  /// Sends the statements of a batch without waiting for their results.
  ///
  /// An `INSERT … VALUES (?, …)` of several rows becomes multi-row `INSERT`s of up to
  /// ``rowsPerInsert`` rows (one parse and one plan for all of them, not one per row); any other
  /// statement is sent once per row, all queued on the connection, which runs them in order.
  func sendBatch(_ sql: String, _ rows: [[SQLValue]]) -> [EventLoopFuture<PostgresQueryResult>] {
    guard rows.count > 1, let insert = SQLLexer.insertRow(sql),
      rows.allSatisfy({ $0.count == insert.row.count - 1 })
    else {
      let numbered = SQLLexer.renumber(sql)
      return rows.map { send(numbered, $0) }
    }
    let width = insert.row.count - 1
    let perStatement = max(1, min(Self.rowsPerInsert, Self.maximumBindings / max(width, 1)))
    return stride(from: 0, to: rows.count, by: perStatement).map { start in
      let chunk = rows[start..<min(start + perStatement, rows.count)]
      var statement = insert.head
      var number = 0
      for index in chunk.indices {
        if index != start { statement += ", " }
        for (piece, text) in insert.row.enumerated() {
          statement += text
          if piece < width {
            number += 1
            statement += "$\(number)"
          }
        }
      }
      statement += insert.tail
      return send(statement, Array(chunk.joined()))
    }
  }

  /// Most rows in one multi-row `INSERT` of a batch.
  static let rowsPerInsert = 1_000
  /// Most bindings in one statement (the protocol counts them in 16 bits).
  private static let maximumBindings = 32_767

  func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
    let result = try await result(of: send(SQLLexer.renumber(sql), bindings), sql: sql)
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
      _ = try await result(of: send(statement, []), sql: statement)
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

  func send(_ sql: String, _ bindings: [SQLValue]) -> EventLoopFuture<PostgresQueryResult> {
    connection.query(PostgresQuery(unsafeSQL: sql, binds: PostgresBindings(bindings)), logger: logger)
  }

  /// Waits for the result of a statement sent on this connection, or for the connection to close.
  ///
  /// A statement written after the connection closed (the server restarted, the session was
  /// terminated between two statements of a transaction) is dropped by postgres-nio without
  /// failing its future: waited for alone, it would never end.
  func result(
    of future: EventLoopFuture<PostgresQueryResult>, sql: String
  ) async throws -> PostgresQueryResult {
    let settled = FirstToSettle()
    let outcome = future.eventLoop.makePromise(of: PostgresQueryResult.self)
    future.whenComplete { result in
      if settled.claim() { outcome.completeWith(result) }
    }
    connection.closeFuture.whenComplete { _ in
      if settled.claim() {
        outcome.fail(
          StorageError(
            code: .connectionFailed, statement: String(sql.prefix(60)),
            message: "the PostgreSQL connection closed before the statement's result"))
      }
    }
    do {
      return try await outcome.futureResult.get()
    } catch let error as StorageError {
      throw error
    } catch {
      throw StorageError(postgres: error, sql: sql)
    }
  }

  /// Rows changed, from the command tag (`INSERT 0 3`, `UPDATE 2`, …); 0 for other commands.
  static func changes(_ result: PostgresQueryResult) -> Int {
    switch result.metadata.command {
    case "INSERT", "UPDATE", "DELETE": result.metadata.rows ?? 0
    default: 0
    }
  }
}

/// Which of two callbacks completes a promise: the first to claim it (a promise completed twice
/// is a programming error in NIO).
private final class FirstToSettle: Sendable {
  private let settled = Atomic(false)

  /// `true` for the first caller only.
  func claim() -> Bool {
    settled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
  }
}
