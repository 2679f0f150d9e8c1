import PostgresNIO

extension StorageError {
  /// Wraps an error from postgres-nio for `sql` (nil when no statement was running).
  init(postgres error: any Error, sql: String?) {
    guard let error = error as? PSQLError else {
      self.init(
        code: .statementFailed, statement: sql.map(Self.summary), message: String(describing: error))
      return
    }
    let state = error.serverInfo?[.sqlState]
    if let message = error.serverInfo?[.message] {
      self.init(
        code: state == "23505" ? .uniqueViolation : .statementFailed,
        statement: sql.map(Self.summary), message: "\(message) (SQLSTATE \(state ?? "?"))")
    } else {
      let underlying = error.underlying.map { ": \($0)" } ?? ""
      self.init(
        code: sql == nil ? .connectionFailed : .statementFailed, statement: sql.map(Self.summary),
        message: "\(error.code)\(underlying)")
    }
  }
}
