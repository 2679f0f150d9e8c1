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

  let database: any SQLDatabase
  /// How events map to partitions.
  public let partitioner: Partitioner
  /// Each partition's last stored offset, moved on once an append has committed.
  private let heads: Mutex<[Int64]>
  /// How many events and body bytes are stored: counted once at open, then kept by appends and
  /// retention, so that neither the gauges nor retention by size scan the journal.
  let totals: Mutex<(events: Int64, bytes: Int64)>
  /// Held for a whole append, so that appends run one at a time; guards the identities that
  /// `bus_fingerprints` does not hold yet.
  let appending: Mutex<PendingIdentities>

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
  struct PendingSegment {
    let partition: Int
    let firstOffset: Int64
    let storedAt: Int64
    var segment = JournalSegment()
  }

  static func segmentInsert(_ segments: [PendingSegment]) -> SQLBatch {
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
    let prefixes = (request.prefixes ?? []).filter { !$0.isEmpty }
    guard prefixes.count <= Self.maximumPrefixes,
      prefixes.allSatisfy({ $0.utf8.count <= Self.maximumPrefixBytes })
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
          guard Topic.type(record.type, matchesAnyOf: prefixes) else { continue }
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
