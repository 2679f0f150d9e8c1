extension SQLDatabase {
  /// Applies, in order, each of `migrations` not yet recorded in `passerelle_migrations`.
  ///
  /// Each migration runs in its own transaction with its record. On PostgreSQL every such
  /// transaction first takes a transaction-scoped advisory lock, so several instances starting
  /// together apply each migration once. Running the same list again does nothing.
  ///
  /// - Returns: The ids of the migrations applied by this call.
  @discardableResult
  public func migrate(_ migrations: [Migration]) async throws -> [String] {
    var seen: Set<String> = []
    for migration in migrations where !seen.insert(migration.id).inserted {
      throw StorageError(
        code: .migrationFailed, statement: migration.id, message: "duplicate migration id")
    }
    try await transaction { tx in
      try await Self.lockMigrations(tx)
      try await tx.execute(
        "CREATE TABLE IF NOT EXISTS passerelle_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
        [])
    }
    var applied: [String] = []
    for migration in migrations {
      let didApply = try await transaction { tx in
        try await Self.lockMigrations(tx)
        let done = try await tx.query(
          "SELECT id FROM passerelle_migrations WHERE id = ?", [.text(migration.id)])
        guard done.isEmpty else { return false }
        guard let script = tx as? any ScriptExecuting else {
          throw StorageError(
            code: .migrationFailed, statement: migration.id,
            message: "\(type(of: tx)) cannot run migration scripts")
        }
        do {
          try await script.executeScript(migration.sql(for: tx.dialect))
        } catch let error as StorageError {
          throw StorageError(code: .migrationFailed, statement: migration.id, message: error.message)
        }
        try await tx.execute(
          "INSERT INTO passerelle_migrations (id, applied_at) VALUES (?, CURRENT_TIMESTAMP)",
          [.text(migration.id)])
        return true
      }
      if didApply { applied.append(migration.id) }
    }
    return applied
  }

  /// Serialises migrators across PostgreSQL clients until the transaction ends.
  private static func lockMigrations(_ tx: any SQLTransaction) async throws {
    guard tx.dialect == .postgres else { return }
    // Any fixed key works; this one spells "passerel" in ASCII.
    try await tx.execute("SELECT pg_advisory_xact_lock(8097880544449291628)", [])
  }
}
