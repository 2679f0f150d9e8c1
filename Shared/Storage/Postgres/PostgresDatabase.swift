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
  /// The connection every write goes through, inside ``exclusively(_:waiting:stopWaiting:_:)``.
  private let writer: PinnedConnection?

  /// A connection of one's own, used by one statement or transaction at a time.
  private struct PinnedConnection: Sendable {
    let connection: PostgresConnection
    let lock = AsyncLock()
  }

  /// Uses `client`, which the caller keeps running for as long as this database is used.
  public convenience init(client: PostgresClient, logger: Logger) {
    self.init(client: client, logger: logger, writer: nil)
  }

  private init(client: PostgresClient, logger: Logger, writer: PinnedConnection?) {
    self.client = client
    self.logger = logger
    self.writer = writer
  }

  /// Always ``SQLDialect/postgres``.
  public var dialect: SQLDialect { .postgres }

  /// Runs `body` between `BEGIN` and `COMMIT` on one pooled connection, rolling back if it throws
  /// or the task is cancelled before the commit. If a statement failed inside `body` and `body`
  /// caught the error, PostgreSQL has aborted the transaction and answers the `COMMIT` with a
  /// rollback: that throws too, as SQLite would have committed.
  public func transaction<T: Sendable>(
    _ body: @Sendable (any SQLTransaction) async throws -> T
  ) async throws -> T {
    let logger = logger
    return try await withWriteConnection { connection in
      let tx = PostgresTransaction(connection: connection, logger: logger)
      try await tx.execute("BEGIN", [])
      do {
        let result = try await body(tx)
        try Task.checkCancellation()
        let ended = try await tx.result(of: tx.send("COMMIT", []), sql: "COMMIT")
        guard ended.metadata.command == "COMMIT" else {
          throw StorageError(
            code: .statementFailed, statement: "COMMIT", message: "the transaction was rolled back")
        }
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
    return try await withWriteConnection { connection in
      let tx = PostgresTransaction(connection: connection, logger: logger)
      let begin = tx.send("BEGIN", [])
      let sent = batches.map { tx.sendBatch($0.sql, $0.rows) }
      let commit = tx.send("COMMIT", [])
      var failure: (any Error)?
      func record(_ future: EventLoopFuture<PostgresQueryResult>, _ sql: String) async -> Int {
        do {
          return PostgresTransaction.changes(try await tx.result(of: future, sql: sql))
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
      let ended = try await tx.result(of: commit, sql: "COMMIT")
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
    return try await withWriteConnection { connection in
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

  /// Takes the session advisory lock keyed by `name` on a connection leased for the whole of
  /// `body`, and gives `body` a database whose writes all go through that connection; see
  /// ``SQLDatabase/exclusively(_:waiting:stopWaiting:_:)``.
  public func exclusively<T: Sendable>(
    _ name: String, waiting: @Sendable () -> Void, stopWaiting: @Sendable () -> Bool,
    _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
  ) async throws -> T? {
    let (client, logger) = (client, logger)
    return try await withConnection { connection in
      let session = PostgresTransaction(connection: connection, logger: logger)
      guard case .text(let schema)? = try await session.query("SELECT current_schema() AS s", []).first?["s"]
      else { throw StorageError(code: .statementFailed, statement: "current_schema()", message: "no schema") }
      let key = SQLValue.integer(ExclusiveLock.postgresKey(schema: schema, name: name))
      let held = try await ExclusiveLock.acquire(waiting: waiting, stopWaiting: stopWaiting) {
        try await session.query("SELECT pg_try_advisory_lock(?) AS held", [key]).first?["held"] == .integer(1)
      }
      guard held else { return nil }
      let exclusive = PostgresDatabase(
        client: client, logger: logger, writer: PinnedConnection(connection: connection))
      do {
        let result = try await Self.whileOpen(connection, lock: name) { try await body(exclusive) }
        try await session.execute("SELECT pg_advisory_unlock(?)", [key])
        return result
      } catch {
        // The lock must not go back to the pool with the connection. A closed connection's session
        // has ended, and the server has released its locks (postgres-nio never answers a query
        // sent on a closed connection, so none is sent).
        if !connection.isClosed, (try? await session.execute("SELECT pg_advisory_unlock(?)", [key])) == nil {
          try? await connection.close()
        }
        throw error
      }
    }
  }

  /// Runs `body`, cancelling it and throwing if `connection` closes first.
  private static func whileOpen<T: Sendable>(
    _ connection: PostgresConnection, lock name: String, _ body: @escaping @Sendable () async throws -> T
  ) async throws -> T {
    let (closed, signal) = AsyncStream<Void>.makeStream()
    connection.closeFuture.whenComplete { _ in signal.finish() }
    return try await withThrowingTaskGroup(of: T.self) { group in
      group.addTask { try await body() }
      group.addTask {
        for await _ in closed {}
        try Task.checkCancellation()
        throw StorageError(
          code: .connectionFailed, message: "lost the PostgreSQL connection that holds the lock \(name)")
      }
      defer { group.cancelAll() }
      guard let first = try await group.next() else { throw CancellationError() }
      return first
    }
  }

  /// Runs `body` on the pinned writer connection if there is one, else on a leased one.
  private func withWriteConnection<T: Sendable>(
    _ body: (PostgresConnection) async throws -> T
  ) async throws -> T {
    guard let writer else { return try await withConnection(body) }
    return try await writer.lock.withLock {
      // postgres-nio never answers a query sent on a closed connection: fail instead of waiting.
      guard !writer.connection.isClosed else {
        throw StorageError(code: .connectionFailed, message: "the connection that holds the lock is closed")
      }
      return try await body(writer.connection)
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
