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
}
