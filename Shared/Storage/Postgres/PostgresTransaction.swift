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
    do {
      return try await ClosedConnections.shared.guarded(future, on: connection).get()
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

/// Fails the statements still waiting on a connection when it closes.
///
/// One callback per connection on its `closeFuture`, registered the first time a statement waits
/// on it (callbacks cannot be removed: one per statement would pile up, with their results, for
/// as long as the connection lives), and the waiting statements in a table that each result
/// leaves as it comes.
private final class ClosedConnections: Sendable {
  static let shared = ClosedConnections()

  private typealias Waiting = [UInt64: EventLoopPromise<PostgresQueryResult>]
  private let waiting = Mutex<(next: UInt64, byConnection: [ObjectIdentifier: Waiting])>((0, [:]))

  /// `future`, or a failure as soon as `connection` closes, whichever comes first.
  func guarded(
    _ future: EventLoopFuture<PostgresQueryResult>, on connection: PostgresConnection
  ) -> EventLoopFuture<PostgresQueryResult> {
    let key = ObjectIdentifier(connection)
    let promise = future.eventLoop.makePromise(of: PostgresQueryResult.self)
    let (id, firstOnConnection) = waiting.withLock { table in
      table.next += 1
      let first = table.byConnection[key] == nil
      table.byConnection[key, default: [:]][table.next] = promise
      return (table.next, first)
    }
    if firstOnConnection {
      // Runs at once if the connection is already closed.
      connection.closeFuture.whenComplete { [self] _ in
        let left = waiting.withLock { $0.byConnection.removeValue(forKey: key) } ?? [:]
        for promise in left.values {
          promise.fail(
            StorageError(
              code: .connectionFailed,
              message: "the PostgreSQL connection closed before the statement's result"))
        }
      }
    }
    future.whenComplete { [self] result in
      // The connection's entry stays, empty, until it closes: its one callback is registered.
      let mine = waiting.withLock { $0.byConnection[key]?.removeValue(forKey: id) }
      mine?.completeWith(result)
    }
    return promise.futureResult
  }
}
