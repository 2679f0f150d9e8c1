import Logging
import PostgresNIO

/// A PostgreSQL database reached through a `PostgresClient` connection pool.
///
/// The client must be running (`client.run()`) while the database is used;
/// ``Database/withDatabase(url:logger:migrations:_:)`` arranges that. Transactions run at
/// PostgreSQL's default `READ COMMITTED` isolation: concurrent transactions serialise on the rows
/// they write, so read-modify-write belongs in one statement (`UPDATE … SET n = n + 1`) or behind
/// a row lock.
public final class PostgresDatabase: SQLDatabase {
  private let client: PostgresClient
  private let logger: Logger

  /// Uses `client`, which the caller keeps running for as long as this database is used.
  public init(client: PostgresClient, logger: Logger) {
    self.client = client
    self.logger = logger
  }

  /// Always ``SQLDialect/postgres``.
  public var dialect: SQLDialect { .postgres }

  /// Runs `body` between `BEGIN` and `COMMIT` on one pooled connection, rolling back if it throws
  /// or the task is cancelled before the commit.
  public func transaction<T: Sendable>(
    _ body: @Sendable (any SQLTransaction) async throws -> T
  ) async throws -> T {
    let logger = logger
    return try await withConnection { connection in
      let tx = PostgresTransaction(connection: connection, logger: logger)
      try await tx.execute("BEGIN", [])
      do {
        let result = try await body(tx)
        try Task.checkCancellation()
        try await tx.execute("COMMIT", [])
        return result
      } catch {
        await tx.rollback(after: error)
        throw error
      }
    }
  }

  /// Sends `BEGIN`, every batch and `COMMIT` at once on one connection, then reads the results:
  /// one round trip for the whole transaction. If a statement fails, PostgreSQL skips the rest
  /// and turns the `COMMIT` into a rollback; the first failure is thrown.
  @discardableResult
  public func write(_ batches: [SQLBatch]) async throws -> [Int] {
    let logger = logger
    return try await withConnection { connection in
      let tx = PostgresTransaction(connection: connection, logger: logger)
      let begin = tx.send("BEGIN", [])
      let sent = batches.map { tx.sendBatch($0.sql, $0.rows) }
      let commit = tx.send("COMMIT", [])
      var failure: (any Error)?
      func record(_ future: EventLoopFuture<PostgresQueryResult>, _ sql: String) async -> Int {
        do {
          return PostgresTransaction.changes(try await PostgresTransaction.await(future, sql: sql))
        } catch {
          failure = failure ?? error
          return 0
        }
      }
      _ = await record(begin, "BEGIN")
      var changes: [Int] = []
      for (batch, results) in zip(batches, sent) {
        var changed = 0
        for future in results { changed += await record(future, batch.sql) }
        changes.append(changed)
      }
      let ended = try await PostgresTransaction.await(commit, sql: "COMMIT")
      if let failure { throw failure }
      guard ended.metadata.command == "COMMIT" else {
        throw StorageError(
          code: .statementFailed, statement: "COMMIT", message: "the transaction was rolled back")
      }
      return changes
    }
  }

  /// Runs one statement on a pooled connection and returns how many rows it changed.
  @discardableResult
  public func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> Int {
    let logger = logger
    return try await withConnection { connection in
      try await PostgresTransaction(connection: connection, logger: logger).execute(sql, bindings)
    }
  }

  /// Runs one query on a pooled connection.
  public func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
    let logger = logger
    return try await withConnection { connection in
      try await PostgresTransaction(connection: connection, logger: logger).query(sql, bindings)
    }
  }

  /// Leases a connection for `body`; a failure to lease becomes ``StorageError/Code/connectionFailed``.
  private func withConnection<T: Sendable>(
    _ body: (PostgresConnection) async throws -> T
  ) async throws -> T {
    var leased = false
    do {
      return try await client.withConnection { connection in
        leased = true
        return try await body(connection)
      }
    } catch  where !leased {
      throw StorageError(code: .connectionFailed, message: "no PostgreSQL connection: \(error)")
    }
  }
}
