import Foundation
import Logging
import PasserelleStorage

/// Runs one test body against every storage backend, each time on a fresh, private database.
///
/// ```swift
/// @Test(arguments: TestDatabases.backends)
/// func roundTrip(_ backend: TestDatabases.Backend) async throws {
///   try await TestDatabases.withDatabase(backend, migrations: schema) { db in … }
/// }
/// ```
///
/// PostgreSQL is reached at the URL in `PASSERELLE_TEST_POSTGRES_URL` (`scripts/with-postgres`
/// starts a throwaway server and sets it). Each test gets its own schema, dropped afterwards. When
/// the variable is missing the PostgreSQL runs fail, unless `PASSERELLE_TEST_SKIP_POSTGRES=1`
/// asks for SQLite only.
public enum TestDatabases {
  /// A storage backend a test can run against.
  public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
    /// SQLite in a fresh temporary file.
    case sqlite
    /// PostgreSQL in a fresh schema at `PASSERELLE_TEST_POSTGRES_URL`.
    case postgres

    /// The backend's name, as test reports show it.
    public var description: String { rawValue }
  }

  /// A test database could not be provided.
  public struct Unavailable: Error, Sendable, CustomStringConvertible {
    /// Why, and what to do about it.
    public let description: String
  }

  /// The environment variable holding the PostgreSQL server URL for tests.
  public static let postgresURLVariable = "PASSERELLE_TEST_POSTGRES_URL"
  /// The environment variable that, set to `1`, runs storage tests on SQLite only.
  public static let skipPostgresVariable = "PASSERELLE_TEST_SKIP_POSTGRES"

  /// The backends to test: both, or SQLite only when `PASSERELLE_TEST_SKIP_POSTGRES=1` (which
  /// prints a notice, so a skipped backend is never silent).
  public static let backends: [Backend] = {
    guard ProcessInfo.processInfo.environment[skipPostgresVariable] == "1" else { return Backend.allCases }
    FileHandle.standardError.write(
      Data("note: \(skipPostgresVariable)=1, so storage tests run on SQLite only (PostgreSQL skipped)\n".utf8)
    )
    return [.sqlite]
  }()

  /// Opens a fresh database on `backend`, applies `migrations`, runs `body`, and deletes the
  /// database whether `body` returns or throws.
  public static func withDatabase<T: Sendable>(
    _ backend: Backend,
    migrations: [Migration] = [],
    logger: Logger = Logger(label: "passerelle.test.storage"),
    _ body: (any SQLDatabase) async throws -> T
  ) async throws -> T {
    try await withDatabaseURL(backend, logger: logger) { url in
      try await Database.withDatabase(url: url, logger: logger, migrations: migrations, body)
    }
  }

  /// Provides the URL of a fresh, empty database on `backend` (for tests that hand a URL to a
  /// service or spawn an executable), and deletes the database after `body`.
  public static func withDatabaseURL<T: Sendable>(
    _ backend: Backend,
    logger: Logger = Logger(label: "passerelle.test.storage"),
    _ body: (String) async throws -> T
  ) async throws -> T {
    switch backend {
    case .sqlite: try await withSQLiteURL(body)
    case .postgres: try await withPostgresURL(logger: logger, body)
    }
  }

  private static func withSQLiteURL<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("passerelle-db-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body("sqlite://" + directory.appendingPathComponent("test.db").path)
  }

  private static func withPostgresURL<T: Sendable>(
    logger: Logger, _ body: (String) async throws -> T
  ) async throws -> T {
    guard let adminURL = ProcessInfo.processInfo.environment[postgresURLVariable], !adminURL.isEmpty else {
      throw Unavailable(
        description: """
          \(postgresURLVariable) is not set, so the PostgreSQL half of the storage tests cannot run. \
          Run the tests through `scripts/with-postgres swift test`, or set \(skipPostgresVariable)=1 \
          to test SQLite only.
          """)
    }
    let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let separator = adminURL.contains("?") ? "&" : "?"
    return try await Database.withDatabase(url: adminURL, logger: logger) { admin in
      try await admin.execute("CREATE SCHEMA \(schema)", [])
      do {
        let result = try await body(adminURL + separator + "search_path=" + schema)
        try await admin.execute("DROP SCHEMA \(schema) CASCADE", [])
        return result
      } catch {
        _ = try? await admin.execute("DROP SCHEMA \(schema) CASCADE", [])
        throw error
      }
    }
  }
}
