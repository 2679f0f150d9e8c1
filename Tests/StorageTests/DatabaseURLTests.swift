import Foundation
import Logging
import PostgresNIO
import Testing

@testable import PasserelleStorage

/// URL parsing, password masking and placeholder renumbering.
@Suite struct DatabaseURLTests {
  @Test(arguments: [
    ("sqlite:///tmp/a.db", "/tmp/a.db"),
    ("sqlite:relative.db", "relative.db"),
    ("data/bus.db", "data/bus.db"),
  ])
  func parsesSQLiteURLs(_ url: String, _ path: String) throws {
    guard case .sqlite(let parsed) = try DatabaseLocation(parsing: url) else {
      Issue.record("\(url) is not SQLite")
      return
    }
    #expect(parsed == path)
  }

  @Test func parsesPostgresURL() throws {
    let location = try DatabaseLocation(
      parsing: "postgres://bus:s3cr%40t@db.example:6543/passerelle?search_path=bus")
    guard case .postgres(let configuration) = location else {
      Issue.record("not PostgreSQL")
      return
    }
    #expect(configuration.host == "db.example")
    #expect(configuration.port == 6543)
    #expect(configuration.username == "bus")
    #expect(configuration.password == "s3cr@t")
    #expect(configuration.database == "passerelle")
    #expect(
      configuration.options.additionalStartupParameters.map { "\($0.0)=\($0.1)" } == [
        "search_path=bus", "synchronous_commit=on",
      ])
  }

  @Test(arguments: [
    ("mysql://root:hunter2@db/x", "unsupported scheme"),
    ("postgres://:hunter2@db/x", "missing user name"),
    ("postgres://bus:hunter2@/x", "missing host"),
    ("postgres://bus:hunter2@db/x?sslmode=verify-full", "unsupported sslmode"),
    ("postgres://bus:hunter2@db/x?synchronous_commit=off", "before it is durable"),
    ("postgres://bus:hunter2@db/x?synchronous_commit=False", "before it is durable"),
    ("sqlite:", "missing SQLite file path"),
  ])
  func rejectsBadURLsWithoutShowingPassword(_ url: String, _ problem: String) async throws {
    let error = await #expect(throws: StorageError.self) {
      try await Database.withDatabase(url: url, logger: Logger(label: "test")) { _ in }
    }
    #expect(error?.code == .invalidURL)
    #expect(error?.message.contains(problem) == true)
    #expect(error.map { "\($0)".contains("hunter2") } == false)
  }

  @Test func masksPassword() {
    #expect(DatabaseLocation.masked("postgres://u:p%40ss@h:1/d") == "postgres://u:***@h:1/d")
    #expect(DatabaseLocation.masked("postgres://u@h/d") == "postgres://u@h/d")
  }

  @Test(arguments: [
    ("SELECT ?", "SELECT $1"),
    ("INSERT INTO t VALUES (?, '?', ?, \"a?\")", "INSERT INTO t VALUES ($1, '?', $2, \"a?\")"),
    ("SELECT 'it''s ?' , ? -- why?\n, ?", "SELECT 'it''s ?' , $1 -- why?\n, $2"),
    ("SELECT /* ? */ ?", "SELECT /* ? */ $1"),
    ("SELECT 1", "SELECT 1"),
    ("SELECT $1, $$ ? $$, $fn$ ? $fn$, ?", "SELECT $1, $$ ? $$, $fn$ ? $fn$, $1"),
  ])
  func renumbersPlaceholders(_ sql: String, _ expected: String) {
    #expect(SQLLexer.renumber(sql) == expected)
  }

  @Test func splitsInsertsAroundTheirRow() {
    let split = SQLLexer.insertRow(
      "INSERT INTO t (a, b, c) VALUES (?, lower(?), '?') ON CONFLICT (a) DO NOTHING -- ?")
    #expect(split?.head == "INSERT INTO t (a, b, c) VALUES ")
    #expect(split?.row == ["(", ", lower(", "), '?')"])
    #expect(split?.tail == " ON CONFLICT (a) DO NOTHING -- ?")
    #expect(SQLLexer.insertRow("insert into t values(?)")?.row == ["(", ")"])
    // Statements that a multi-row insert would change the meaning of, or that are not one-row inserts.
    for sql in [
      "INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET a = excluded.a",
      "INSERT INTO t (a) VALUES (?), (?)",
      "INSERT INTO t (a) SELECT ? WHERE true",
      "INSERT INTO t (a) VALUES (1) RETURNING ?",
      "UPDATE t SET a = ? WHERE b IN (VALUES (?))",
      "DELETE FROM t WHERE a = ?",
    ] {
      #expect(SQLLexer.insertRow(sql) == nil, "\(sql)")
    }
  }

  @Test func splitsScripts() {
    let script = """
      CREATE TABLE a (t TEXT DEFAULT ';');  -- one; two
      /* ; */
      CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql;
      ;
      INSERT INTO a VALUES ('x')
      """
    #expect(
      SQLLexer.statements(script).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } == [
        "CREATE TABLE a (t TEXT DEFAULT ';')",
        "-- one; two\n/* ; */\nCREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql",
        "INSERT INTO a VALUES ('x')",
      ])
  }
}
