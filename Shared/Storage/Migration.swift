/// One step of a schema, applied once per database and recorded in `passerelle_migrations`.
///
/// The SQL may hold several `;`-separated statements; it runs in one transaction together with
/// its record, so a migration is applied entirely or not at all.
public struct Migration: Sendable, Hashable {
  /// A unique, stable name, such as `"2024-06-bus-journal"`; never change it once released.
  public let id: String
  /// The SQL for SQLite.
  public let sqlite: String
  /// The SQL for PostgreSQL.
  public let postgres: String

  /// Creates a migration whose SQL differs between dialects.
  public init(id: String, sqlite: String, postgres: String) {
    self.id = id
    self.sqlite = sqlite
    self.postgres = postgres
  }

  /// Creates a migration whose SQL is the same in both dialects.
  public init(id: String, sql: String) {
    self.init(id: id, sqlite: sql, postgres: sql)
  }

  /// The SQL for `dialect`.
  public func sql(for dialect: SQLDialect) -> String {
    switch dialect {
    case .sqlite: sqlite
    case .postgres: postgres
    }
  }
}
