import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleStorage

/// The bus's durable journal: every event numbered within its partition, stored once.
///
/// Built on ``SQLDatabase`` (SQLite in WAL mode with `synchronous=FULL`, or PostgreSQL): an
/// append is one transaction, so an acknowledged event has been fsynced, and a crash at any
/// instant leaves either the whole batch or none of it. Idempotent by CloudEvents `source` + `id`.
/// One ``Broker`` appends; any number of tasks read.
public actor Journal {
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
  private var heads: [Int64]

  /// Opens the journal in `database` (migrating it) with `partitions` partitions.
  ///
  /// The partition count is fixed when the journal is created; opening it with another count
  /// fails, because it would move customers between partitions and break their ordering.
  public init(database: any SQLDatabase, partitions: Int) async throws {
    try await database.migrate(JournalSchema.migrations)
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
    var heads = [Int64](repeating: 0, count: partitions)
    for row in try await database.query("SELECT partition_no, head FROM bus_partitions", []) {
      if case .integer(let partition) = row["partition_no"], case .integer(let head) = row["head"],
        Int(partition) < partitions
      {
        heads[Int(partition)] = head
      }
    }
    self.database = database
    self.partitioner = Partitioner(count: partitions)
    self.heads = heads
  }

  /// Each partition's last stored offset (0 when empty).
  public var currentHeads: [Int64] { heads }

  /// Stores `entries` in one transaction and returns each one's outcome, in order.
  ///
  /// Entries already in the journal, or repeated within `entries`, come back as duplicates with
  /// the position of the stored copy; offsets stay gapless.
  public func append(_ entries: [Entry]) async throws -> [Appended] {
    guard !entries.isEmpty else { return [] }
    let partitioner = self.partitioner
    let startHeads = heads
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    // Resends are rare: insert as if every entry were new; only when the identity index turns one
    // away does the batch roll back and go again, looked up first.
    let (outcomes, newHeads): ([Appended], [Int64])
    do {
      (outcomes, newHeads) = try await database.transaction { transaction in
        try await Self.insert(
          entries, known: nil, heads: startHeads, now: now, partitioner: partitioner, in: transaction)
      }
    } catch is AlreadyStored {
      (outcomes, newHeads) = try await database.transaction { transaction in
        let known = try await Self.existing(entries, in: transaction)
        return try await Self.insert(
          entries, known: known, heads: startHeads, now: now, partitioner: partitioner, in: transaction)
      }
    }
    heads = newHeads
    return outcomes
  }

  /// An entry that ``insert(_:known:heads:now:partitioner:in:)`` took for new was already stored.
  private struct AlreadyStored: Error {}

  /// Inserts the entries that are neither in `known` nor repeated earlier in `entries`, numbering
  /// them from `heads`, and returns every entry's outcome and the new heads.
  ///
  /// With `known` `nil`, every entry is taken for new, and ``AlreadyStored`` is thrown (for the
  /// caller to roll back) if the journal already holds one of them.
  private static func insert(
    _ entries: [Entry], known: [Identity: EventPosition]?, heads startHeads: [Int64], now: Int64,
    partitioner: Partitioner, in transaction: any SQLTransaction
  ) async throws -> ([Appended], [Int64]) {
    var known = known
    var heads = startHeads
    var rows: [[SQLValue]] = []
    rows.reserveCapacity(entries.count)
    var outcomes: [Appended] = []
    outcomes.reserveCapacity(entries.count)
    for entry in entries {
      let identity = Identity(source: entry.source, id: entry.id)
      if let position = known?[identity] {
        outcomes.append(Appended(status: .duplicate, position: position))
        continue
      }
      let partition = partitioner.partition(forKey: entry.partitionKey)
      heads[partition] += 1
      let position = EventPosition(partition: partition, offset: heads[partition])
      known?[identity] = position
      outcomes.append(Appended(status: .stored, position: position))
      rows.append([
        .integer(Int64(partition)), .integer(position.offset), .text(entry.source), .text(entry.id),
        .text(entry.type), .integer(now), .blob(entry.body),
      ])
    }
    if !rows.isEmpty {
      let inserted = try await transaction.executeBatch(
        """
        INSERT INTO bus_events (partition_no, event_offset, source, event_id, event_type, stored_at, body)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
        """, rows)
      guard inserted == rows.count else {
        if known == nil { throw AlreadyStored() }
        throw ProtocolError(
          field: "journal", reason: "\(rows.count - inserted) looked-up events were stored meanwhile")
      }
      let changed = heads.indices.filter { heads[$0] != startHeads[$0] }
      try await transaction.executeBatch(
        """
        INSERT INTO bus_partitions (partition_no, head) VALUES (?, ?)
        ON CONFLICT (partition_no) DO UPDATE SET head = excluded.head
        """, changed.map { [.integer(Int64($0)), .integer(heads[$0])] })
    }
    return (outcomes, heads)
  }

  private struct Identity: Hashable {
    let source: String
    let id: String
  }

  /// Looks up which of `entries` are already stored.
  private static func existing(_ entries: [Entry], in transaction: any SQLTransaction) async throws
    -> [Identity: EventPosition]
  {
    var found: [Identity: EventPosition] = [:]
    let ids = Array(Set(entries.map(\.id)))
    for start in stride(from: 0, to: ids.count, by: 500) {
      let chunk = ids[start..<min(start + 500, ids.count)]
      let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
      let rows = try await transaction.query(
        "SELECT event_id, source, partition_no, event_offset FROM bus_events WHERE event_id IN (\(placeholders))",
        chunk.map { .text($0) })
      for row in rows {
        guard case .text(let id) = row["event_id"], case .text(let source) = row["source"],
          case .integer(let partition) = row["partition_no"], case .integer(let offset) = row["event_offset"]
        else { continue }
        found[Identity(source: source, id: id)] = EventPosition(partition: Int(partition), offset: offset)
      }
    }
    return found
  }

  /// Reads up to `request.max` (at most 1,000) events of one partition from `request.from` on.
  public func fetch(_ request: FetchRequest) async throws -> (header: FetchHeader, bodies: [[UInt8]]) {
    guard heads.indices.contains(request.partition) else {
      throw ProtocolError(field: "partition", reason: "must be 0..<\(heads.count), got \(request.partition)")
    }
    let limit = min(max(request.max, 1), 1000)
    let prefixes = (request.prefixes ?? []).filter { !$0.isEmpty }
    var sql = "SELECT event_offset, body FROM bus_events WHERE partition_no = ? AND event_offset >= ?"
    var bindings: [SQLValue] = [.integer(Int64(request.partition)), .integer(max(request.from, 1))]
    if !prefixes.isEmpty {
      sql += " AND (" + prefixes.map { _ in "event_type LIKE ? ESCAPE '!'" }.joined(separator: " OR ") + ")"
      bindings += prefixes.map { .text(Self.likePattern(prefix: $0)) }
    }
    sql += " ORDER BY event_offset LIMIT ?"
    bindings.append(.integer(Int64(limit)))
    // The head is read before the query: an append committing during the query (this actor is
    // reentrant) must not move `next` past events the query did not see.
    let headBefore = heads[request.partition]
    let rows = try await database.query(sql, bindings)
    var offsets: [Int64] = []
    var bodies: [[UInt8]] = []
    for row in rows {
      guard case .integer(let offset) = row["event_offset"], case .blob(let body) = row["body"] else {
        continue
      }
      offsets.append(offset)
      bodies.append(body)
    }
    let head = max(headBefore, offsets.last ?? 0)
    let next = rows.count == limit ? (offsets.last ?? request.from) + 1 : max(head + 1, request.from)
    let low = try await lowestOffset(partition: request.partition) ?? head + 1
    let header = FetchHeader(partition: request.partition, offsets: offsets, next: next, head: head, low: low)
    return (header, bodies)
  }

  /// `prefix` as a LIKE pattern with `!` escaping the wildcards (`_` appears in event types).
  static func likePattern(prefix: String) -> String {
    var pattern = ""
    for character in prefix {
      if character == "%" || character == "_" || character == "!" { pattern.append("!") }
      pattern.append(character)
    }
    return pattern + "%"
  }

  private func lowestOffset(partition: Int) async throws -> Int64? {
    let rows = try await database.query(
      "SELECT MIN(event_offset) AS low FROM bus_events WHERE partition_no = ?", [.integer(Int64(partition))])
    if case .integer(let low)? = rows.first?["low"] { return low }
    return nil
  }

  /// How many events and bytes the journal holds.
  public func size() async throws -> (events: Int64, bytes: Int64) {
    let length = database.dialect == .postgres ? "octet_length(body)" : "length(body)"
    let rows = try await database.query(
      "SELECT COUNT(*) AS n, COALESCE(SUM(\(length)), 0) AS bytes FROM bus_events", [])
    guard let row = rows.first, case .integer(let count) = row["n"] else { return (0, 0) }
    switch row["bytes"] {
    case .integer(let bytes): return (count, bytes)
    case .real(let bytes): return (count, Int64(bytes))
    default: return (count, 0)
    }
  }

  /// Deletes events stored before `cutoff`, then the oldest events while over `maxBytes`.
  ///
  /// Returns how many events were removed. Offsets are never reused: heads stay where they are.
  public func prune(storedBefore cutoff: Date?, maxBytes: Int64?) async throws -> Int {
    var removed = 0
    if let cutoff {
      removed += try await database.execute(
        "DELETE FROM bus_events WHERE stored_at < ?", [.integer(Int64(cutoff.timeIntervalSince1970 * 1000))])
    }
    if let maxBytes {
      for _ in 0..<10_000 {
        let (_, bytes) = try await size()
        guard bytes > maxBytes else { break }
        let deleted = try await database.execute(
          """
          DELETE FROM bus_events WHERE (partition_no, event_offset) IN
            (SELECT partition_no, event_offset FROM bus_events ORDER BY stored_at, event_offset LIMIT 1000)
          """, [])
        removed += deleted
        if deleted == 0 { break }
      }
    }
    return removed
  }

  /// Records a subscriber's reported position, for lag.
  public func record(_ report: PositionReport) async throws {
    guard heads.indices.contains(report.partition) else {
      throw ProtocolError(field: "partition", reason: "must be 0..<\(heads.count), got \(report.partition)")
    }
    guard (0...heads[report.partition]).contains(report.offset) else {
      throw ProtocolError(
        field: "offset", reason: "must be 0...\(heads[report.partition]) (the head), got \(report.offset)")
    }
    guard !report.subscriber.isEmpty, report.subscriber.count <= 200 else {
      throw ProtocolError(field: "subscriber", reason: "must be 1 to 200 characters")
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
