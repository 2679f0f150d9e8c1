import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import Synchronization

/// The bus's durable journal: every event numbered within its partition, stored once.
///
/// Built on ``SQLDatabase`` (SQLite in WAL mode with `synchronous=FULL`, or PostgreSQL): an
/// append is one transaction, so an acknowledged event has been fsynced, and a crash at any
/// instant leaves either the whole batch or none of it. Idempotent by CloudEvents `source` + `id`.
/// Appends are serialised (one ``Broker`` appends, from its ingest thread); any number of tasks read.
public final class Journal: Sendable {
  /// An event to append: what the journal indexes, and the exact bytes to store and fan out.
  public struct Entry: Sendable {
    /// CloudEvents `source`; with ``id``, the event's identity.
    public let source: String
    /// CloudEvents `id`.
    public let id: String
    /// CloudEvents `type`.
    public let type: String
    /// What the partition is computed from (``Partitioner/key(of:)``).
    public let partitionKey: String
    /// Its structured JSON as received.
    public let body: [UInt8]

    /// Creates an entry from its parts.
    init(source: String, id: String, type: String, partitionKey: String, body: [UInt8]) {
      self.source = source
      self.id = id
      self.type = type
      self.partitionKey = partitionKey
      self.body = body
    }

    /// Creates an entry for a validated event and the bytes it was decoded from.
    public init(event: CloudEvent, body: [UInt8]) {
      self.source = event.source
      self.id = event.id
      self.type = event.type
      self.partitionKey = Partitioner.key(of: event)
      self.body = body
    }
  }

  /// The outcome of appending one entry.
  public struct Appended: Sendable {
    /// Stored now, or found already stored.
    public let status: PublishOutcome.Status
    /// Where it is.
    public let position: EventPosition
  }

  private let database: any SQLDatabase
  /// How events map to partitions.
  public let partitioner: Partitioner
  /// Each partition's last stored offset, moved on once an append has committed.
  private let heads: Mutex<[Int64]>
  /// How many events and body bytes are stored: counted once at open, then kept by appends and
  /// retention, so that neither the gauges nor retention by size scan the journal.
  private let totals: Mutex<(events: Int64, bytes: Int64)>
  /// Held for a whole append, so that appends run one at a time; guards the identities that
  /// `bus_fingerprints` does not hold yet.
  private let appending: Mutex<PendingIdentities>

  /// Opens the journal in `database` (migrating it) with `partitions` partitions.
  ///
  /// The partition count is fixed when the journal is created; opening it with another count
  /// fails, because it would move customers between partitions and break their ordering.
  public init(database: any SQLDatabase, partitions: Int) async throws {
    try await database.migrate(JournalSchema.migrations)
    try await Self.moveLegacyEvents(in: database)
    try await Self.moveLegacyIdentities(in: database)
    let stored = try await database.query("SELECT value FROM bus_settings WHERE name = 'partitions'", [])
    if case .text(let value)? = stored.first?["value"] {
      guard Int(value) == partitions else {
        throw ProtocolError(
          field: "PASSERELLE_BUS_PARTITIONS",
          reason: "the journal was created with \(value) partitions; it cannot be opened with \(partitions)")
      }
    } else {
      try await database.execute(
        "INSERT INTO bus_settings (name, value) VALUES ('partitions', ?)", [.text(String(partitions))])
    }
    // A head is its partition's last stored offset, or what retention recorded when it emptied it.
    var heads = [Int64](repeating: 0, count: partitions)
    for row in try await database.query("SELECT partition_no, head FROM bus_partitions", []) {
      if case .integer(let partition) = row["partition_no"], case .integer(let head) = row["head"],
        Int(partition) < partitions
      {
        heads[Int(partition)] = head
      }
    }
    for partition in 0..<partitions {
      let last = try await database.query(
        "SELECT last_offset FROM bus_segments WHERE partition_no = ? ORDER BY first_offset DESC LIMIT 1",
        [.integer(Int64(partition))])
      if case .integer(let offset)? = last.first?["last_offset"] {
        heads[partition] = max(heads[partition], offset)
      }
    }
    let pending = try await Self.pendingIdentities(in: database, heads: heads)
    self.database = database
    self.partitioner = Partitioner(count: partitions)
    self.heads = Mutex(heads)
    self.totals = Mutex(try await Self.storedTotals(in: database))
    self.appending = Mutex(pending)
  }

  /// The identities of the events after the watermark, read back from their segments.
  ///
  /// A journal written before the watermark existed has every identity in `bus_fingerprints`: its
  /// watermark starts at the heads.
  private static func pendingIdentities(in database: any SQLDatabase, heads: [Int64]) async throws
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
  private static func indexedIdentities(in database: any SQLDatabase, heads: [Int64]) async throws
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
  private static let watermarkSetting = "identities_indexed"

  private static func encodeWatermark(_ offsets: [Int64]) -> String {
    offsets.map(String.init).joined(separator: ",")
  }

  /// Whether `table` exists (a table of an earlier format, renamed by a migration until its rows
  /// are moved).
  private static func tableExists(_ table: String, in database: any SQLDatabase) async throws -> Bool {
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
  private static func moveLegacyEvents(in database: any SQLDatabase) async throws {
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
  private static func moveLegacyIdentities(in database: any SQLDatabase) async throws {
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

  /// Each partition's last stored offset (0 when empty).
  public var currentHeads: [Int64] { heads.withLock { $0 } }

  /// Stores `entries` in one transaction and returns each one's outcome, in order.
  ///
  /// Entries already in the journal, or repeated within `entries`, come back as duplicates with
  /// the position of the stored copy; offsets stay gapless. Blocks the calling thread until the
  /// transaction is fsynced: call it from a thread of your own (the broker's ingest thread), not
  /// from a task; async code has the `async` overload.
  public func append(_ entries: [Entry]) throws -> [Appended] {
    guard !entries.isEmpty else { return [] }
    return try appending.withLock { pending in try appendAlone(entries, &pending) }
  }

  /// ``append(_:)-(_)`` for async code: runs it on a Dispatch thread and waits without blocking.
  public func append(_ entries: [Entry]) async throws -> [Appended] {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async { continuation.resume(with: Result { try self.append(entries) }) }
    }
  }

  /// The append itself, with the lock held: finds the duplicates (waiting identities first, then
  /// `bus_fingerprints`), then writes the new events' segments and a chunk of waiting identities
  /// (``PendingIdentities``) in one transaction.
  private func appendAlone(_ entries: [Entry], _ pending: inout PendingIdentities) throws -> [Appended] {
    let identities = entries.indices.map { EventIdentity(source: entries[$0].source, id: entries[$0].id) }
    var waiting: [EventIdentity: [EventPosition]] = [:]
    var mayBeIndexed: [EventIdentity] = []
    for identity in identities {
      let positions = pending.positions(of: identity.fingerprint)
      if !positions.isEmpty { waiting[identity] = positions }
      if pending.mayBeIndexed(identity.fingerprint) { mayBeIndexed.append(identity) }
    }
    let known =
      waiting.isEmpty && mayBeIndexed.isEmpty ? [:] : try stored(waiting, indexedOrNot: mayBeIndexed)
    let plan = Self.plan(
      entries, identities: identities, known: known, heads: currentHeads,
      now: Int64(Date().timeIntervalSince1970 * 1000),
      partitioner: partitioner)
    let chunk = pending.nextChunk(events: plan.stored.count)
    var batches = plan.batches
    if !chunk.rows.isEmpty {
      batches.append(
        SQLBatch(
          """
          INSERT INTO bus_fingerprints (fingerprint, partition_no, event_offset) VALUES (?, ?, ?)
          ON CONFLICT DO NOTHING
          """, chunk.rows))
    }
    if let watermark = chunk.watermark {
      batches.append(
        SQLBatch(
          """
          INSERT INTO bus_settings (name, value) VALUES ('\(Self.watermarkSetting)', ?)
          ON CONFLICT (name) DO UPDATE SET value = excluded.value
          """, [[.text(Self.encodeWatermark(watermark))]]))
    }
    if !batches.isEmpty { try database.writeBlocking(batches) }
    heads.withLock { $0 = plan.heads }
    totals.withLock {
      $0.events += Int64(plan.stored.count)
      $0.bytes += plan.storedBytes
    }
    for (identity, position) in plan.stored { pending.add(identity.fingerprint, at: position) }
    pending.committed(chunk, heads: plan.heads, now: .now)
    return plan.outcomes
  }

  /// What appending some entries writes, and what it answers.
  private struct Plan: Sendable {
    var outcomes: [Appended] = []
    var heads: [Int64]
    var batches: [SQLBatch] = []
    /// The identities of the entries stored.
    var stored: [(EventIdentity, EventPosition)] = []
    /// Their bodies' bytes.
    var storedBytes: Int64 = 0
  }

  /// Numbers the entries that are neither in `known` nor repeated earlier in `entries` from
  /// `heads`, and returns every entry's outcome, the new heads and the statement that stores
  /// them. `identities` are the entries' identities, in the same order.
  private static func plan(
    _ entries: [Entry], identities: [EventIdentity], known: [EventIdentity: EventPosition],
    heads startHeads: [Int64], now: Int64, partitioner: Partitioner
  ) -> Plan {
    var plan = Plan(heads: startHeads)
    plan.outcomes.reserveCapacity(entries.count)
    plan.stored.reserveCapacity(entries.count)
    var segments: [[PendingSegment]] = Array(repeating: [], count: startHeads.count)
    var seen = Set<UInt64>(minimumCapacity: entries.count)
    // By index, not `for entry in entries`: copying an entry would retain its five buffers.
    for index in entries.indices {
      let identity = identities[index]
      if let position = known[identity] ?? repeated(identity, in: plan.stored, seen: &seen) {
        plan.outcomes.append(Appended(status: .duplicate, position: position))
        continue
      }
      let partition = partitioner.partition(forKey: entries[index].partitionKey)
      plan.heads[partition] += 1
      let position = EventPosition(partition: partition, offset: plan.heads[partition])
      plan.outcomes.append(Appended(status: .stored, position: position))
      plan.stored.append((identity, position))
      plan.storedBytes += Int64(entries[index].body.count)
      if segments[partition].last?.segment.fits(entries[index]) != true {
        segments[partition].append(
          PendingSegment(partition: partition, firstOffset: position.offset, storedAt: now))
      }
      segments[partition][segments[partition].count - 1].segment.append(entries[index])
    }
    if !plan.stored.isEmpty { plan.batches = [segmentInsert(segments.flatMap { $0 })] }
    return plan
  }

  /// Where an entry stored earlier in the same append with `identity` went, if one was: a set
  /// of fingerprints answers for nearly every entry, the stored list only when one repeats.
  private static func repeated(
    _ identity: EventIdentity, in stored: [(EventIdentity, EventPosition)], seen: inout Set<UInt64>
  ) -> EventPosition? {
    guard !seen.insert(identity.fingerprint).inserted else { return nil }
    return stored.last { $0.0 == identity }?.1
  }

  /// A segment being filled, and where it goes.
  private struct PendingSegment {
    let partition: Int
    let firstOffset: Int64
    let storedAt: Int64
    var segment = JournalSegment()
  }

  private static func segmentInsert(_ segments: [PendingSegment]) -> SQLBatch {
    SQLBatch(
      """
      INSERT INTO bus_segments
        (partition_no, first_offset, last_offset, stored_at, event_count, byte_count, directory, bodies)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      """,
      segments.map { pending in
        [
          .integer(Int64(pending.partition)), .integer(pending.firstOffset),
          .integer(pending.firstOffset + Int64(pending.segment.count) - 1), .integer(pending.storedAt),
          .integer(Int64(pending.segment.count)), .integer(Int64(pending.segment.bodies.count)),
          .blob(pending.segment.directory), .blob(pending.segment.bodies),
        ]
      })
  }

  /// Which identities are stored, and where: the candidates are the `waiting` positions (events
  /// whose fingerprint is the identity's, not yet in `bus_fingerprints`) and, for the identities
  /// in `indexedOrNot`, the rows of `bus_fingerprints` with their fingerprint. Each candidate
  /// event is read back from its segment, so that another identity with the same fingerprint is
  /// never taken for it; the first that matches, newest first, is the one.
  private func stored(
    _ waiting: [EventIdentity: [EventPosition]], indexedOrNot: [EventIdentity]
  ) throws -> [EventIdentity: EventPosition] {
    var candidates = waiting
    for (identity, positions) in try indexed(indexedOrNot) { candidates[identity, default: []] += positions }
    var found: [EventIdentity: EventPosition] = [:]
    var segments = SegmentCache()
    for (identity, positions) in candidates {
      for position in positions where try self.identity(at: position, segments: &segments) == identity {
        found[identity] = position
        break
      }
    }
    return found
  }

  /// The positions `bus_fingerprints` holds for the fingerprint of each of `identities`.
  private func indexed(_ identities: [EventIdentity]) throws -> [EventIdentity: [EventPosition]] {
    let wanted = Dictionary(grouping: identities, by: \.key)
    var found: [EventIdentity: [EventPosition]] = [:]
    let keys = Array(wanted.keys)
    for start in stride(from: 0, to: keys.count, by: 500) {
      let chunk = keys[start..<min(start + 500, keys.count)]
      let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
      let rows = try database.queryBlocking(
        "SELECT fingerprint, partition_no, event_offset FROM bus_fingerprints WHERE fingerprint IN (\(placeholders))",
        chunk.map { .integer($0) })
      for row in rows {
        guard case .integer(let key) = row["fingerprint"], case .integer(let partition) = row["partition_no"],
          case .integer(let offset) = row["event_offset"]
        else { continue }
        for identity in wanted[key] ?? [] {
          found[identity, default: []].append(EventPosition(partition: Int(partition), offset: offset))
        }
      }
    }
    return found
  }

  /// The segment last read in each partition, for ``identity(at:segments:)``: resends tend to
  /// come in runs of neighbours.
  private typealias SegmentCache = [Int: (first: Int64, records: [JournalSegment.Record])]

  /// The identity of the event at `position`, read from its segment's directory; `nil` if
  /// there is no such event.
  private func identity(at position: EventPosition, segments: inout SegmentCache) throws -> EventIdentity? {
    if let cached = segments[position.partition], position.offset >= cached.first,
      position.offset - cached.first < Int64(cached.records.count)
    {
      let record = cached.records[Int(position.offset - cached.first)]
      return EventIdentity(source: record.source, id: record.id)
    }
    let rows = try database.queryBlocking(
      """
      SELECT first_offset, directory, byte_count FROM bus_segments
      WHERE partition_no = ? AND first_offset <= ? ORDER BY first_offset DESC LIMIT 1
      """, [.integer(Int64(position.partition)), .integer(position.offset)])
    guard let row = rows.first else { return nil }
    guard case .integer(let first) = row["first_offset"], case .blob(let directory) = row["directory"],
      case .integer(let bytes) = row["byte_count"],
      let records = JournalSegment.records(directory: directory, bodyCount: Int(bytes))
    else {
      throw ProtocolError(field: "journal", reason: "damaged segment in partition \(position.partition)")
    }
    segments[position.partition] = (first, records)
    let index = Int(position.offset - first)
    guard records.indices.contains(index) else { return nil }
    return EventIdentity(source: records[index].source, id: records[index].id)
  }

  /// Reads up to `request.max` (at most 1,000) events of one partition from `request.from` on.
  ///
  /// With type prefixes, at most ``fetchScanLimit`` events are examined per call; `next` says
  /// where to go on.
  public func fetch(_ request: FetchRequest) async throws -> (header: FetchHeader, bodies: [[UInt8]]) {
    // The heads are read before the query: an append committing during the query must not move
    // `next` past events the query did not see.
    let heads = currentHeads
    guard heads.indices.contains(request.partition) else {
      throw ProtocolError(
        field: "body.partition", reason: "must be 0..<\(heads.count), got \(request.partition)")
    }
    let limit = min(max(request.max, 1), BusLimits.maximumEventsPerFetch)
    let prefixes = (request.prefixes ?? []).filter { !$0.isEmpty }.map { Array($0.utf8) }
    guard prefixes.count <= Self.maximumPrefixes,
      prefixes.allSatisfy({ $0.count <= Self.maximumPrefixBytes })
    else {
      throw ProtocolError(
        field: "body.prefixes",
        reason: "at most \(Self.maximumPrefixes) prefixes of at most \(Self.maximumPrefixBytes) bytes each")
    }
    let from = max(request.from, 1)
    let headBefore = heads[request.partition]
    var offsets: [Int64] = []
    var bodies: [[UInt8]] = []
    var scanned: Int64 = from - 1
    var exhausted = false
    while offsets.count < limit, scanned - from < Self.fetchScanLimit {
      let rows = try await database.query(
        """
        SELECT first_offset, directory, bodies FROM bus_segments
        WHERE partition_no = ? AND first_offset > ? AND last_offset > ? ORDER BY first_offset LIMIT 8
        """,
        [
          .integer(Int64(request.partition)), .integer(Self.segmentSearchFloor(after: scanned)),
          .integer(scanned),
        ])
      guard !rows.isEmpty else {
        exhausted = true
        break
      }
      for row in rows where offsets.count < limit {
        guard case .integer(let first) = row["first_offset"], case .blob(let directory) = row["directory"],
          case .blob(let segmentBodies) = row["bodies"],
          let records = JournalSegment.records(directory: directory, bodyCount: segmentBodies.count)
        else {
          throw ProtocolError(field: "journal", reason: "damaged segment in partition \(request.partition)")
        }
        for (index, record) in records.enumerated() where offsets.count < limit {
          let offset = first + Int64(index)
          guard offset > scanned else { continue }
          scanned = offset
          // By bytes, as libzmq matches live topics: not by characters, as `hasPrefix` would.
          guard prefixes.isEmpty || prefixes.contains(where: { record.type.utf8.starts(with: $0) }) else {
            continue
          }
          offsets.append(offset)
          bodies.append(Array(segmentBodies[record.body]))
        }
      }
    }
    // `scanned` starts below `from`: past the head, nothing was read and the head is the head.
    let head = max(headBefore, scanned >= from ? scanned : headBefore)
    let next = exhausted ? max(head + 1, from) : scanned + 1
    let low = try await lowestOffset(partition: request.partition) ?? head + 1
    let header = FetchHeader(partition: request.partition, offsets: offsets, next: next, head: head, low: low)
    return (header, bodies)
  }

  /// Most type prefixes one `FETCH` may give.
  static let maximumPrefixes = 64
  /// Longest type prefix, in UTF-8 bytes.
  static let maximumPrefixBytes = 255

  /// Most events one filtered `FETCH` examines.
  static let fetchScanLimit: Int64 = 10_000

  /// A bound below which no segment holding an offset after `offset` can start (a segment holds
  /// at most ``JournalSegment/maximumEvents``), so that a search for the segments after `offset`
  /// seeks on the primary key instead of walking the partition from its oldest segment.
  static func segmentSearchFloor(after offset: Int64) -> Int64 {
    offset - Int64(JournalSegment.maximumEvents)
  }

  private func lowestOffset(partition: Int) async throws -> Int64? {
    let rows = try await database.query(
      "SELECT MIN(first_offset) AS low FROM bus_segments WHERE partition_no = ?", [.integer(Int64(partition))]
    )
    if case .integer(let low)? = rows.first?["low"] { return low }
    return nil
  }

  /// How many events and bytes of events the journal holds.
  public var size: (events: Int64, bytes: Int64) { totals.withLock { $0 } }

  /// Counts what `database` holds (once, when the journal opens: it reads every segment's row).
  private static func storedTotals(in database: any SQLDatabase) async throws -> (events: Int64, bytes: Int64)
  {
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

  /// Deletes events stored before `cutoff`, then the oldest events while over `maxBytes`, a
  /// segment at a time, with their identities.
  ///
  /// Returns how many events were removed. Offsets are never reused: heads stay where they are.
  public func prune(storedBefore cutoff: Date?, maxBytes: Int64?) async throws -> Int {
    var removed = 0
    if let cutoff {
      let millis = Int64(cutoff.timeIntervalSince1970 * 1000)
      for partition in 0..<partitioner.count {
        // A partition's segments are stored in offset order, so its expired ones come first.
        for _ in 0..<100_000 {
          let oldest = try await oldestSegments(partition: partition, limit: 64)
          let expired = Array(oldest.prefix { $0.storedAt < millis })
          guard !expired.isEmpty else { break }
          removed += try await delete(expired)
          guard expired.count == oldest.count else { break }
        }
      }
    }
    if let maxBytes {
      var bytes = size.bytes
      for _ in 0..<100_000 where bytes > maxBytes {
        // The oldest segments of all: each partition's oldest ones, merged by age. A segment's age
        // is the newest `stored_at` up to it in its partition, so that a clock stepped back cannot
        // rank a later segment before an earlier one: what goes is always a prefix of each
        // partition (what `pruned` below and the `low` of `FETCH` assume).
        var candidates: [(age: Int64, segment: StoredSegment)] = []
        for partition in 0..<partitioner.count {
          var age = Int64.min
          for segment in try await oldestSegments(partition: partition, limit: 64) {
            age = max(age, segment.storedAt)
            candidates.append((age, segment))
          }
        }
        candidates.sort {
          ($0.age, $0.segment.partition, $0.segment.firstOffset)
            < ($1.age, $1.segment.partition, $1.segment.firstOffset)
        }
        var chosen: [StoredSegment] = []
        for (_, segment) in candidates where bytes > maxBytes && chosen.count < 64 {
          chosen.append(segment)
          bytes -= segment.bytes
        }
        guard !chosen.isEmpty else { break }
        removed += try await delete(chosen)
      }
    }
    return removed
  }

  /// What retention needs to know of a stored segment.
  private struct StoredSegment: Sendable {
    let partition: Int
    let firstOffset: Int64
    let lastOffset: Int64
    let storedAt: Int64
    let events: Int
    let bytes: Int64
    /// Its events' fingerprints and positions.
    let identities: [(fingerprint: UInt64, position: EventPosition)]

    /// Its events' `bus_fingerprints` rows.
    var fingerprints: [[SQLValue]] {
      identities.map {
        [
          .integer(Int64(bitPattern: $0.fingerprint)), .integer(Int64($0.position.partition)),
          .integer($0.position.offset),
        ]
      }
    }
  }

  /// The oldest `limit` segments of `partition`, in offset order.
  private func oldestSegments(partition: Int, limit: Int) async throws -> [StoredSegment] {
    let rows = try await database.query(
      """
      SELECT first_offset, last_offset, stored_at, event_count, byte_count, directory FROM bus_segments
      WHERE partition_no = ? ORDER BY first_offset LIMIT \(limit)
      """, [.integer(Int64(partition))])
    return try rows.map { row in
      guard case .integer(let first) = row["first_offset"], case .integer(let last) = row["last_offset"],
        case .integer(let storedAt) = row["stored_at"],
        case .integer(let count) = row["event_count"], case .integer(let bytes) = row["byte_count"],
        case .blob(let directory) = row["directory"],
        let records = JournalSegment.records(directory: directory, bodyCount: Int(bytes))
      else { throw ProtocolError(field: "journal", reason: "damaged segment in partition \(partition)") }
      return StoredSegment(
        partition: partition, firstOffset: first, lastOffset: last, storedAt: storedAt, events: Int(count),
        bytes: bytes,
        identities: records.enumerated().map { index, record in
          (
            EventIdentity(source: record.source, id: record.id).fingerprint,
            EventPosition(partition: partition, offset: first + Int64(index))
          )
        })
    }
  }

  /// Deletes `segments` and their events' identities in one transaction, first recording the
  /// heads of their partitions (which their last segment may be taking with it); returns how
  /// many events they held.
  private func delete(_ segments: [StoredSegment]) async throws -> Int {
    // The in-memory head, unless an append has committed and not yet moved it.
    var heads: [Int: Int64] = [:]
    let current = currentHeads
    for segment in segments {
      heads[segment.partition] = max(
        heads[segment.partition] ?? current[segment.partition], segment.lastOffset)
    }
    let recorded = heads.sorted { $0.key < $1.key }.map {
      [SQLValue.integer(Int64($0.key)), .integer($0.value)]
    }
    let removed: Int
    do {
      removed = try await deleteTransaction(segments, recordingHeads: recorded)
    } catch {
      // The delete may have committed without our hearing of it: count again.
      if let counted = try? await Self.storedTotals(in: database) { totals.withLock { $0 = counted } }
      throw error
    }
    // Only now that they are gone: marked before, a commit could end a generation without their
    // fingerprints, and a delete that then failed (or a crash) would leave events stored whose
    // identities neither `bus_fingerprints` nor the start's reading of segments would find.
    await withAppendingLock { pending in
      for segment in segments { pending.pruned(partition: segment.partition, through: segment.lastOffset) }
    }
    totals.withLock {
      $0.events -= Int64(removed)
      $0.bytes -= segments.reduce(0) { $0 + $1.bytes }
    }
    return removed
  }

  /// The transaction of ``delete(_:)``.
  private func deleteTransaction(_ segments: [StoredSegment], recordingHeads recorded: [[SQLValue]])
    async throws -> Int
  {
    try await database.transaction { transaction in
      try await transaction.executeBatch(
        """
        INSERT INTO bus_partitions (partition_no, head) VALUES (?, ?)
        ON CONFLICT (partition_no) DO UPDATE SET head = excluded.head WHERE bus_partitions.head < excluded.head
        """, recorded)
      try await transaction.executeBatch(
        "DELETE FROM bus_fingerprints WHERE fingerprint = ? AND partition_no = ? AND event_offset = ?",
        segments.flatMap(\.fingerprints))
      try await transaction.executeBatch(
        "DELETE FROM bus_segments WHERE partition_no = ? AND first_offset = ?",
        segments.map { [.integer(Int64($0.partition)), .integer($0.firstOffset)] })
      return segments.reduce(0) { $0 + $1.events }
    }
  }

  /// Runs `body` with the lock every append holds while it writes. Taken on a Dispatch thread: an
  /// append holds it for a whole commit, which on PostgreSQL runs on the cooperative pool, so a
  /// task waiting for it there could take the last thread that commit needs.
  private func withAppendingLock<T: Sendable>(_ body: @escaping @Sendable (inout PendingIdentities) -> T)
    async -> T
  {
    await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
      DispatchQueue.global().async { done.resume(returning: self.appending.withLock { body(&$0) }) }
    }
  }

  /// Records a subscriber's reported position, for lag.
  public func record(_ report: PositionReport) async throws {
    let heads = currentHeads
    guard heads.indices.contains(report.partition) else {
      throw ProtocolError(
        field: "body.partition", reason: "must be 0..<\(heads.count), got \(report.partition)")
    }
    guard (0...heads[report.partition]).contains(report.offset) else {
      throw ProtocolError(
        field: "body.offset",
        reason: "must be 0...\(heads[report.partition]) (the head), got \(report.offset)")
    }
    // Bytes, not characters: one character may be any number of combining marks.
    let name = report.subscriber.utf8
    guard !name.isEmpty, name.count <= 200, !name.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
      throw ProtocolError(
        field: "body.subscriber", reason: "must be 1 to 200 bytes of UTF-8 without control characters")
    }
    try await database.execute(
      """
      INSERT INTO bus_subscriber_positions (subscriber, partition_no, event_offset, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (subscriber, partition_no) DO UPDATE SET event_offset = excluded.event_offset,
        updated_at = excluded.updated_at
      """,
      [
        .text(report.subscriber), .integer(Int64(report.partition)), .integer(report.offset),
        .integer(Int64(Date().timeIntervalSince1970 * 1000)),
      ])
  }

  /// Every reporting subscriber's distance behind each partition's head.
  public func lag() async throws -> LagReport {
    let heads = currentHeads
    let rows = try await database.query(
      "SELECT subscriber, partition_no, event_offset FROM bus_subscriber_positions ORDER BY subscriber, partition_no",
      [])
    let entries: [LagReport.Entry] = rows.compactMap { row in
      guard case .text(let subscriber) = row["subscriber"],
        case .integer(let partition) = row["partition_no"],
        case .integer(let offset) = row["event_offset"], heads.indices.contains(Int(partition))
      else { return nil }
      return LagReport.Entry(
        subscriber: subscriber, partition: Int(partition), offset: offset,
        lag: max(0, heads[Int(partition)] - offset))
    }
    return LagReport(heads: heads, entries: entries)
  }
}
