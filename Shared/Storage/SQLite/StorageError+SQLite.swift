import GRDB

extension StorageError {
  /// Wraps an error SQLite reported for `sql`.
  init(sqlite error: DatabaseError, sql: String) {
    let unique: [ResultCode] = [.SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY]
    self.init(
      code: unique.contains(error.extendedResultCode) ? .uniqueViolation : .statementFailed,
      statement: Self.summary(of: sql),
      message: error.message ?? "\(error.resultCode)"
    )
  }
}
