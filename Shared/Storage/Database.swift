import Logging
import PostgresNIO

/// Opens the database a URL names, for the duration of a closure.
public enum Database {
  /// Opens the database at `url`, applies `migrations`, and runs `body` with it.
  ///
  /// `url` is `sqlite:///absolute/path.db`, `sqlite:relative.db`, a bare file path, or
  /// `postgres://user:password@host:port/database` (optionally `?sslmode=require` and server
  /// startup parameters such as `search_path=…`). For PostgreSQL the connection pool runs in a
  /// child task for exactly as long as `body`, and is shut down when `body` returns or throws.
  ///
  /// - Throws: ``StorageError`` with code ``StorageError/Code/invalidURL`` (the URL shown with its
  ///   password masked) when the URL cannot be understood, ``StorageError/Code/connectionFailed``
  ///   when PostgreSQL does not answer a first query within `connectTimeout` (postgres-nio keeps
  ///   retrying a wrong host, port or password without ever failing); otherwise what opening,
  ///   migrating or `body` throws.
  public static func withDatabase<T: Sendable>(
    url: String,
    logger: Logger,
    migrations: [Migration] = [],
    connectTimeout: Duration = .seconds(30),
    _ body: (any SQLDatabase) async throws -> T
  ) async throws -> T {
    switch try DatabaseLocation(parsing: url) {
    case .sqlite(let path):
      let database = try SQLiteDatabase(path: path, logger: logger)
      try await database.migrate(migrations)
      return try await body(database)
    case .postgres(let configuration):
      var clientLogger = logger
      if logger.logLevel > .debug {
        // postgres-nio logs retries at info; a library stays quiet unless asked for debug.
        clientLogger.logLevel = max(logger.logLevel, .warning)
      }
      let client = PostgresClient(configuration: configuration, backgroundLogger: clientLogger)
      logger.debug("connecting to PostgreSQL", metadata: ["url": "\(DatabaseLocation.masked(url))"])
      return try await withThrowingTaskGroup(of: Void.self) { group in
        // Leasing before `run()` has begun makes the client log a warning: wait until the child
        // task that calls it is running (it calls `run()` right after saying so).
        await withCheckedContinuation { started in
          group.addTask {
            started.resume()
            await client.run()
          }
        }
        defer { group.cancelAll() }
        let database = PostgresDatabase(client: client, logger: logger)
        try await firstContact(database, url: url, within: connectTimeout)
        try await database.migrate(migrations)
        return try await body(database)
      }
    }
  }

  /// `url` with its password, if any, replaced by `***`: what logs and error messages show.
  public static func masked(_ url: String) -> String {
    DatabaseLocation.masked(url)
  }

  /// Waits for PostgreSQL to answer `SELECT 1`, at most `timeout`.
  private static func firstContact(_ database: PostgresDatabase, url: String, within timeout: Duration)
    async throws
  {
    let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
      group.addTask {
        _ = try await database.query("SELECT 1", [])
        return true
      }
      group.addTask {
        try await Task.sleep(for: timeout)
        return false
      }
      defer { group.cancelAll() }
      return try await group.next() ?? false
    }
    guard answered else {
      throw StorageError(
        code: .connectionFailed,
        message:
          "PostgreSQL did not answer within \(timeout) (host, port, database, user or password wrong, or the server down)",
        url: DatabaseLocation.masked(url))
    }
  }
}
