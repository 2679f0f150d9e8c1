import Foundation
import Logging
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Testing

/// What only SQLite promises: durable commits.
@Suite struct SQLiteDatabaseTests {
  @Test func commitsAreDurable() async throws {
    try await TestDatabases.withDatabase(.sqlite) { db in
      let journalMode = try await db.query("PRAGMA journal_mode", [])
      let synchronous = try await db.query("PRAGMA synchronous", [])
      #expect(journalMode.first?.values == [.text("wal")])
      #expect(synchronous.first?.values == [.integer(2)])  // FULL
    }
  }

  @Test func theWALIsCheckpointedBesideTheWriter() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("passerelle-wal-\(UUID())")
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("db.sqlite").path
    let db = try SQLiteDatabase(path: path, logger: Logger(label: "test"))
    #expect(try await db.query("PRAGMA wal_autocheckpoint", []).first?.values == [.integer(0)])
    try await db.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)", [])
    let blob = SQLValue.blob([UInt8](repeating: 7, count: 4000))
    for start in stride(from: 0, to: 2000, by: 100) {
      try await db.write([
        SQLBatch(
          "INSERT INTO blobs (id, b) VALUES (?, ?)",
          (start..<start + 100).map { [.integer(Int64($0)), blob] })
      ])
    }
    // 8 MB went into the WAL; the second connection copies it into the database file.
    let copied = await eventually(within: .seconds(10)) {
      ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) > 7_000_000
    }
    #expect(copied, "the database file holds the rows within 10 s")
  }

  @Test func theWALStartsOverOnceItHasGrownPastItsLimit() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("passerelle-wal-\(UUID())")
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("db.sqlite").path
    let limit = 1 << 20
    let db = try SQLiteDatabase(path: path, walRestartBytes: limit, logger: Logger(label: "test"))
    try await db.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)", [])
    let blob = SQLValue.blob([UInt8](repeating: 7, count: 4000))
    @Sendable func walSize() -> Int {
      (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
    }
    // 12 MiB in back-to-back small commits, as a busy bus writes: the passive checkpoints never
    // catch up with such a writer, so without the restart the WAL keeps growing (to about three
    // times what was written: 43–48 MB here); with it, it stays near its limit.
    var largest = 0
    var written = 0
    for round in 0..<20_000 where written < 12 << 20 {
      try await db.write([
        SQLBatch("INSERT INTO blobs (id, b) VALUES (?, ?)", [[.integer(Int64(round)), blob]])
      ])
      written += 4000
      largest = max(largest, walSize())
    }
    #expect(written >= 12 << 20)
    #expect(largest < 12 * limit, "the WAL file reached \(largest) bytes while \(written) were written")
  }
}
