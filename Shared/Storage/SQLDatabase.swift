/// A value bound to, or read from, a SQL statement.
///
/// The same five kinds exist in SQLite and map onto PostgreSQL's `bigint`, `double precision`,
/// `text` and `bytea`.
public enum SQLValue: Sendable, Hashable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob([UInt8])
}

/// One row of a query result, with its values by column name.
public struct SQLRow: Sendable {
  /// Column names in the order of the `SELECT`.
  public let columns: [String]
  /// Values in the order of ``columns``.
  public let values: [SQLValue]

  /// Creates a row from parallel column and value arrays.
  public init(columns: [String], values: [SQLValue]) {
    self.columns = columns
    self.values = values
  }

  /// The value of `column`, or `.null` when the row has no such column.
  public subscript(column: String) -> SQLValue {
    guard let index = columns.firstIndex(of: column) else { return .null }
    return values[index]
  }
}

/// Which SQL dialect a database speaks, for the few statements that differ.
public enum SQLDialect: String, Sendable {
  case sqlite
  case postgres
}

/// Statements run inside one transaction: all of them commit, or none does.
///
/// SQL is written once with `?` placeholders; the PostgreSQL implementation renumbers them to
/// `$1`, `$2`, … (a `?` inside a quoted literal is left alone).
public protocol SQLTransaction: Sendable {
  /// The dialect of the database this transaction runs on.
  var dialect: SQLDialect { get }
  /// Runs one statement that returns no rows, and returns how many rows it changed.
  ///
  /// An `INSERT … ON CONFLICT DO NOTHING` that hit a conflict returns `0`.
  @discardableResult
  func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> Int
  /// Runs one statement once per element of `rows`, reusing the prepared statement, and returns
  /// how many rows all the runs changed together.
  @discardableResult
  func executeBatch(_ sql: String, _ rows: [[SQLValue]]) async throws -> Int
  /// Runs a query and returns every row.
  func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow]
}

/// One statement of ``SQLDatabase/write(_:)``, run once per row of ``rows``.
public struct SQLBatch: Sendable {
  /// The statement, with `?` placeholders.
  public let sql: String
  /// One array of bindings per run.
  public let rows: [[SQLValue]]

  /// Creates a batch.
  public init(_ sql: String, _ rows: [[SQLValue]]) {
    self.sql = sql
    self.rows = rows
  }
}

/// A SQL database: SQLite embedded (the default) or PostgreSQL (several instances).
///
/// Every method may be called from any task. Writes are serialised by the database itself.
public protocol SQLDatabase: Sendable {
  /// The dialect this database speaks.
  var dialect: SQLDialect { get }
  /// Runs `body` in one transaction, committing when it returns and rolling back when it throws.
  func transaction<T: Sendable>(_ body: @Sendable (any SQLTransaction) async throws -> T) async throws -> T
  /// Runs one statement outside an explicit transaction, and returns how many rows it changed.
  @discardableResult
  func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> Int
  /// Runs one query outside an explicit transaction.
  func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow]
  /// Runs `batches` in order in one transaction and returns the rows each changed.
  ///
  /// The write path of hot loops: SQLite runs it in one hop to its connection, commit included.
  @discardableResult
  func write(_ batches: [SQLBatch]) async throws -> [Int]
  /// Runs `batches` like ``write(_:)`` and blocks the calling thread until they are committed.
  ///
  /// For a thread of the caller's own (the bus's ingest thread), never a task on the cooperative
  /// pool. SQLite runs the whole transaction on the calling thread, without any hand-off.
  @discardableResult
  func writeBlocking(_ batches: [SQLBatch]) throws -> [Int]
  /// Runs `body` while this process is the only holder of the lock `name` on this database,
  /// waiting as long as another process (or another call) holds it.
  ///
  /// For a writer that must be alone, such as the bus on its journal: a second one started by
  /// mistake waits instead of writing beside the first. `waiting` is called once if the lock is
  /// taken, then the call polls every 200 ms; it gives up (returning `nil`) when `stopWaiting`
  /// says so. The lock is released when `body` returns or throws, or when the process dies
  /// (`kill -9` included). SQLite: an `flock` on the file `<database>-<name>.lock` beside the
  /// database. PostgreSQL: a session advisory lock on a connection of its own, which every write of
  /// the database given to `body` then goes through, so that no write happens without the lock; if
  /// that connection is lost, `body` is cancelled and the call throws. The lock is per schema (the
  /// connection's `current_schema()`), like the tables it guards.
  func exclusively<T: Sendable>(
    _ name: String, waiting: @Sendable () -> Void, stopWaiting: @Sendable () -> Bool,
    _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
  ) async throws -> T?
  /// Runs one query like ``query(_:_:)`` and blocks the calling thread until it has the rows.
  ///
  /// For the same threads as ``writeBlocking(_:)``; SQLite reads on the calling thread.
  func queryBlocking(_ sql: String, _ bindings: [SQLValue]) throws -> [SQLRow]
}

extension SQLDatabase {
  /// Runs ``write(_:)`` in a task and waits for it (``Blocking/wait(_:)``).
  @discardableResult
  public func writeBlocking(_ batches: [SQLBatch]) throws -> [Int] {
    try Blocking.wait { try await write(batches) }
  }

  /// Runs ``query(_:_:)`` in a task and waits for it (``Blocking/wait(_:)``).
  public func queryBlocking(_ sql: String, _ bindings: [SQLValue]) throws -> [SQLRow] {
    try Blocking.wait { try await query(sql, bindings) }
  }

  /// Runs `batches` in one ``transaction(_:)``.
  @discardableResult
  public func write(_ batches: [SQLBatch]) async throws -> [Int] {
    try await transaction { transaction in
      var changes: [Int] = []
      for batch in batches {
        changes.append(try await transaction.executeBatch(batch.sql, batch.rows))
      }
      return changes
    }
  }
}
