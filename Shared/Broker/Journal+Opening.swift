import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import Synchronization

/// Opening a journal: its identities waiting behind the watermark, the identity filter, its
/// counts, and the move of journals written in earlier formats.
extension Journal {
  /// The identities of the events after the watermark, read back from their segments.
  ///
  /// A journal written before the watermark existed has every identity in `bus_fingerprints`: its
  /// watermark starts at the heads.
  static func pendingIdentities(in database: any SQLDatabase, heads: [Int64]) async throws
    -> PendingIdentities
  {
    let stored = try await database.query(
      "SELECT value FROM bus_settings WHERE name = '\(watermarkSetting)'", [])
    var watermark = heads
    if case .text(let value)? = stored.first?["value"] {
      let offsets = value.split(separator: ",").compactMap { Int64($0) }
      guard offsets.count == heads.count else {
        throw ProtocolError(field: "journal", reason: "unreadable \(watermarkSetting) \"\(value)\"")
      }
      watermark = offsets
    } else {
      try await database.execute(
        "INSERT INTO bus_settings (name, value) VALUES ('\(watermarkSetting)', ?)",
        [.text(encodeWatermark(heads))])
    }
    var pending = PendingIdentities(
      watermark: watermark, indexed: try await indexedIdentities(in: database, heads: heads), now: .now)
    for partition in heads.indices where heads[partition] > watermark[partition] {
      let rows = try await database.query(
        """
        SELECT first_offset, directory, byte_count FROM bus_segments
        WHERE partition_no = ? AND first_offset > ? AND last_offset > ?
        """,
        [
          .integer(Int64(partition)), .integer(Self.segmentSearchFloor(after: watermark[partition])),
          .integer(watermark[partition]),
        ])
      for row in rows {
        guard case .integer(let first) = row["first_offset"], case .blob(let directory) = row["directory"],
          case .integer(let bytes) = row["byte_count"],
          let records = JournalSegment.records(directory: directory, bodyCount: Int(bytes))
        else { throw ProtocolError(field: "journal", reason: "damaged segment in partition \(partition)") }
        for (index, record) in records.enumerated() where first + Int64(index) > watermark[partition] {
          pending.add(
            EventIdentity(source: record.source, id: record.id).fingerprint,
            at: EventPosition(partition: partition, offset: first + Int64(index)))
        }
      }
    }
    return pending
  }

  /// A filter of every fingerprint in `bus_fingerprints`, read in key order a page at a time;
  /// their events are at or below `heads`.
  static func indexedIdentities(in database: any SQLDatabase, heads: [Int64]) async throws
    -> IdentityFilter
  {
    let counted = try await database.query("SELECT COUNT(*) AS n FROM bus_fingerprints", [])
    guard case .integer(let count)? = counted.first?["n"] else {
      throw ProtocolError(field: "journal", reason: "cannot count bus_fingerprints")
    }
    var filter = IdentityFilter(expected: 2 * Int(count), newest: heads)
    // Only the fingerprints, a page of distinct ones at a time (keyset pagination).
    var after: Int64?
    for _ in 0...(Int(count) / 10_000 + 1) {
      let rows = try await database.query(
        """
        SELECT DISTINCT fingerprint FROM bus_fingerprints \(after == nil ? "" : "WHERE fingerprint > ?")
        ORDER BY fingerprint LIMIT 10000
        """, after.map { [.integer($0)] } ?? [])
      for row in rows {
        guard case .integer(let key) = row.values.first else { continue }
        filter.insert(UInt64(bitPattern: key), at: nil)
        after = key
      }
      if rows.count < 10_000 { break }
    }
    return filter
  }

  /// The `bus_settings` row of the watermark (``PendingIdentities``).
  static let watermarkSetting = "identities_indexed"

  static func encodeWatermark(_ offsets: [Int64]) -> String {
    offsets.map(String.init).joined(separator: ",")
  }

  /// Whether `table` exists (a table of an earlier format, renamed by a migration until its rows
  /// are moved).
  static func tableExists(_ table: String, in database: any SQLDatabase) async throws -> Bool {
    let sql =
      database.dialect == .sqlite
      ? "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?"
      : "SELECT COUNT(*) AS n FROM pg_tables WHERE tablename = ? AND schemaname = current_schema()"
    guard case .integer(let count)? = try await database.query(sql, [.text(table)]).first?["n"] else {
      return false
    }
    return count > 0
  }

  /// Moves events stored in the first format (a row per event; `bus_events_legacy` since
  /// migration 2) into segments, a thousand per transaction, then drops that table.
  static func moveLegacyEvents(in database: any SQLDatabase) async throws {
    guard try await tableExists("bus_events_legacy", in: database) else { return }
    var moving = true
    while moving {
      moving = try await database.transaction { transaction in
        let rows = try await transaction.query(
          """
          SELECT partition_no, event_offset, source, event_id, event_type, stored_at, body FROM bus_events_legacy
          ORDER BY partition_no, event_offset LIMIT 1000
          """, [])
        var segments: [PendingSegment] = []
        var identities: [[SQLValue]] = []
        for row in rows {
          guard case .integer(let partition) = row["partition_no"],
            case .integer(let offset) = row["event_offset"],
            case .text(let source) = row["source"], case .text(let id) = row["event_id"],
            case .text(let type) = row["event_type"], case .integer(let storedAt) = row["stored_at"],
            case .blob(let body) = row["body"]
          else { throw ProtocolError(field: "journal", reason: "unreadable event in bus_events_legacy") }
          let entry = Entry(source: source, id: id, type: type, partitionKey: "", body: body)
          if let last = segments.last, last.partition == Int(partition),
            last.firstOffset + Int64(last.segment.count) == offset, last.storedAt == storedAt,
            last.segment.fits(entry)
          {
            segments[segments.count - 1].segment.append(entry)
          } else {
            var segment = PendingSegment(partition: Int(partition), firstOffset: offset, storedAt: storedAt)
            segment.segment.append(entry)
            segments.append(segment)
          }
          identities.append([
            .integer(EventIdentity(source: source, id: id).key), .integer(partition), .integer(offset),
          ])
        }
        try await transaction.executeBatch(
          "INSERT INTO bus_fingerprints (fingerprint, partition_no, event_offset) VALUES (?, ?, ?)",
          identities)
        let segmentBatch = segmentInsert(segments)
        try await transaction.executeBatch(segmentBatch.sql, segmentBatch.rows)
        try await transaction.executeBatch(
          "DELETE FROM bus_events_legacy WHERE partition_no = ? AND event_offset = ?",
          identities.map { Array($0.suffix(2)) })
        return !rows.isEmpty
      }
    }
    try await database.execute("DROP TABLE bus_events_legacy", [])
  }

  /// Moves the identities `bus_identities` held before migration 4 (`bus_identities_legacy`)
  /// into `bus_fingerprints`, a thousand per transaction, then drops that table. Interrupted, it
  /// starts again from the beginning: rows already moved are skipped.
  static func moveLegacyIdentities(in database: any SQLDatabase) async throws {
    guard try await tableExists("bus_identities_legacy", in: database) else { return }
    var after = ("", "")
    var moving = true
    while moving {
      let rows = try await database.query(
        """
        SELECT event_id, source, partition_no, event_offset FROM bus_identities_legacy
        WHERE (event_id, source) > (?, ?) ORDER BY event_id, source LIMIT 1000
        """, [.text(after.0), .text(after.1)])
      var fingerprints: [[SQLValue]] = []
      for row in rows {
        guard case .text(let id) = row["event_id"], case .text(let source) = row["source"] else {
          throw ProtocolError(field: "journal", reason: "unreadable identity in bus_identities_legacy")
        }
        fingerprints.append([
          .integer(EventIdentity(source: source, id: id).key), row["partition_no"], row["event_offset"],
        ])
        after = (id, source)
      }
      try await database.write([
        SQLBatch(
          "INSERT INTO bus_fingerprints (fingerprint, partition_no, event_offset) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
          fingerprints)
      ])
      moving = rows.count == 1000
    }
    try await database.execute("DROP TABLE bus_identities_legacy", [])
  }

  /// Counts what `database` holds (once, when the journal opens: it reads every segment's row).
  static func storedTotals(in database: any SQLDatabase) async throws -> (events: Int64, bytes: Int64) {
    let rows = try await database.query(
      "SELECT COALESCE(SUM(event_count), 0) AS n, COALESCE(SUM(byte_count), 0) AS bytes FROM bus_segments", []
    )
    guard let row = rows.first else { return (0, 0) }
    func number(_ value: SQLValue) -> Int64 {
      switch value {
      case .integer(let integer): integer
      case .real(let real): Int64(real)
      default: 0
      }
    }
    return (number(row["n"]), number(row["bytes"]))
  }
}
