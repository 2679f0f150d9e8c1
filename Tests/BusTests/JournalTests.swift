import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import Testing

@testable import PasserelleBroker

/// The journal alone, on SQLite and PostgreSQL: offsets, idempotency, fetch, retention.
@Suite struct JournalTests {
  static func entries(_ events: [CloudEvent]) -> [Journal.Entry] {
    events.map { Journal.Entry(event: $0, body: $0.encoded()) }
  }

  @Test(arguments: TestDatabases.backends)
  func offsetsAreGaplessAndDuplicatesKeepTheirPosition(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 4)
      let events = BusTestSupport.events(source: "/j", count: 200, customers: 7)
      let first = try await journal.append(Self.entries(events) + Self.entries([events[0]]))
      #expect(first.prefix(200).allSatisfy { $0.status == .stored })
      #expect(first[200].status == .duplicate && first[200].position == first[0].position)
      let again = try await journal.append(Self.entries(Array(events[100..<110])))
      #expect(again.map(\.position) == first[100..<110].map(\.position))
      #expect(again.allSatisfy { $0.status == .duplicate })
      for partition in 0..<4 {
        let offsets = first.prefix(200).filter { $0.position.partition == partition }.map(\.position.offset)
        #expect(offsets == Array(1...Int64(offsets.count)))
      }
      let heads = journal.currentHeads
      #expect(heads.reduce(0, +) == 200)
      // Reopening keeps the heads; another partition count is refused.
      #expect(try await Journal(database: database, partitions: 4).currentHeads == heads)
      await #expect(throws: ProtocolError.self) { _ = try await Journal(database: database, partitions: 8) }
    }
  }

  /// Commits write identities to `bus_fingerprints` a generation behind (``PendingIdentities``):
  /// resends are found whether their identity waits in memory, was lost with it (a journal opened
  /// again, as after `kill -9`, reads it back from the segments) or has been written.
  @Test(arguments: TestDatabases.backends)
  func resendsAreFoundWhereverTheirIdentityIs(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      func indexedCount() async throws -> Int64 {
        let rows = try await database.query("SELECT COUNT(*) AS n FROM bus_fingerprints", [])
        guard case .integer(let count)? = rows.first?["n"] else { return -1 }
        return count
      }
      let first = BusTestSupport.events(source: "/pending", count: 300, prefix: "a")
      let journal = try await Journal(database: database, partitions: 4)
      let stored = try await journal.append(Self.entries(first))
      #expect(try await indexedCount() == 0)  // waiting: a generation is a minute or (here) 16,384 events
      let resent = try await journal.append(Self.entries(Array(first[250...])))
      #expect(resent.allSatisfy { $0.status == .duplicate })
      #expect(resent.map(\.position) == stored[250...].map(\.position))

      // Reopened without anything written: the identities come back from the segments.
      let reopened = try await Journal(database: database, partitions: 4)
      let again = try await reopened.append(Self.entries(Array(first[..<50])))
      #expect(again.allSatisfy { $0.status == .duplicate })
      #expect(again.map(\.position) == stored[..<50].map(\.position))

      // A generation's worth of new events seals the waiting identities; the commits after it
      // write them, sorted, a chunk at a time, and move the watermark.
      let many = BusTestSupport.events(
        source: "/pending", count: PendingIdentities.minimumGeneration, prefix: "b")
      _ = try await reopened.append(Self.entries(many))
      for round in 0..<2000 where try await indexedCount() < 300 + Int64(many.count) {
        _ = try await reopened.append(
          Self.entries(BusTestSupport.events(source: "/pending", count: 100, prefix: "c\(round)")))
      }
      #expect(try await indexedCount() >= 300 + Int64(many.count))
      let afterWrite = try await Journal(database: database, partitions: 4)
      let last = try await afterWrite.append(Self.entries(Array(first[..<10]) + Array(many.suffix(10))))
      #expect(last.allSatisfy { $0.status == .duplicate })
      #expect(last.prefix(10).map(\.position) == stored[..<10].map(\.position))
    }
  }

  @Test(arguments: TestDatabases.backends)
  func fetchFindsTheSegmentOfAnyOffset(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 1)
      let events = BusTestSupport.events(source: "/seek", count: 900)
      // Segments of 256, 256 and 88 events (one append of 600), then 300 of one event each.
      _ = try await journal.append(Self.entries(Array(events[..<600])))
      for event in events[600...] { _ = try await journal.append(Self.entries([event])) }
      for from: Int64 in [1, 2, 255, 256, 257, 511, 512, 513, 600, 601, 750, 899, 900] {
        let page = try await journal.fetch(FetchRequest(partition: 0, from: from, max: 3))
        #expect(page.header.offsets == Array(from...min(from + 2, 900)), "from \(from)")
      }
    }
  }

  @Test(arguments: TestDatabases.backends)
  func fetchPagesFiltersAndReportsTheHead(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 1)
      _ = try await journal.append(Self.entries(BusTestSupport.events(source: "/j", count: 30)))
      let page = try await journal.fetch(FetchRequest(partition: 0, from: 1, max: 10))
      #expect(page.header.offsets == Array(1...10))
      #expect(page.header.next == 11 && page.header.head == 30)
      let purchases = try await journal.fetch(
        FetchRequest(partition: 0, from: 1, max: 100, prefixes: ["pos."]))
      #expect(purchases.header.offsets == stride(from: 1, through: 30, by: 3).map(Int64.init))
      #expect(purchases.header.next == 31)
      // `_` in a prefix is literal, not a LIKE wildcard.
      let none = try await journal.fetch(FetchRequest(partition: 0, from: 1, max: 100, prefixes: ["pos_"]))
      #expect(none.header.offsets.isEmpty && none.header.next == 31)
      // Prefixes match bytes, as live topics do: "e" starts "e\u{301}…" (a character "é" apart).
      _ = try await journal.append(
        Self.entries([CloudEvent(id: "accent", source: "/j", type: "e\u{301}vent.x", data: .null)]))
      let accented = try await journal.fetch(FetchRequest(partition: 0, from: 1, max: 100, prefixes: ["e"]))
      #expect(accented.header.offsets == [31])
      // Asked from past the head: nothing, and the head as it is (not `from - 1`).
      let beyond = try await journal.fetch(FetchRequest(partition: 0, from: 100, max: 10))
      #expect(beyond.header.offsets.isEmpty && beyond.header.head == 31 && beyond.header.next == 100)
      await #expect(throws: ProtocolError.self) {
        _ = try await journal.fetch(FetchRequest(partition: 3, from: 1, max: 1))
      }
    }
  }

  @Test(arguments: TestDatabases.backends)
  func retentionByAgeAndSizeKeepsOffsets(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 1)
      _ = try await journal.append(Self.entries(BusTestSupport.events(source: "/old", count: 50)))
      #expect(try await journal.prune(storedBefore: Date().addingTimeInterval(-3600), maxBytes: nil) == 0)
      #expect(try await journal.prune(storedBefore: Date().addingTimeInterval(1), maxBytes: nil) == 50)
      // The partition is empty: its head is what retention recorded, and survives reopening.
      #expect(try await Journal(database: database, partitions: 1).currentHeads == [50])
      _ = try await journal.append(Self.entries(BusTestSupport.events(source: "/new", count: 3_000)))
      let (_, bytes) = journal.size
      let removed = try await journal.prune(storedBefore: nil, maxBytes: bytes / 2)
      #expect(removed >= 1_000)
      #expect(journal.size.bytes <= bytes / 2)
      let page = try await journal.fetch(FetchRequest(partition: 0, from: 1, max: 5))
      #expect(page.header.low == Int64(51 + removed))
      #expect(page.header.offsets.first == page.header.low)
      #expect(page.header.head == 3_050)
      // An event retention removed is stored again when resent, whether its identity was written
      // to `bus_fingerprints` or still waiting (all of these were, in memory).
      let resent = try await journal.append(Self.entries(BusTestSupport.events(source: "/old", count: 5)))
      #expect(resent.allSatisfy { $0.status == .stored })
      #expect(resent.map(\.position.offset) == Array(3_051...3_055))
      // The counts kept by appends and retention are what counting the journal again finds.
      let recounted = try await Journal(database: database, partitions: 1).size
      #expect(journal.size.events == recounted.events)
      #expect(journal.size.bytes == recounted.bytes)
      #expect(recounted.events == Int64(3_005 - removed))
    }
  }

  /// A retention delete that fails (here a trigger refuses it) leaves the events stored and
  /// found: resends of them are duplicates, before and after their fingerprints are written.
  @Test(arguments: TestDatabases.backends)
  func aFailedRetentionDeleteForgetsNoIdentity(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 1)
      let events = BusTestSupport.events(source: "/kept", count: 50)
      let stored = try await journal.append(Self.entries(events))
      let refuse =
        database.dialect == .sqlite
        ? [
          "CREATE TRIGGER refuse_delete BEFORE DELETE ON bus_segments BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        : [
          "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
          "CREATE TRIGGER refuse_delete BEFORE DELETE ON bus_segments FOR EACH ROW EXECUTE FUNCTION refuse_delete()",
        ]
      for statement in refuse { try await database.execute(statement, []) }
      await #expect(throws: (any Error).self) {
        _ = try await journal.prune(storedBefore: Date().addingTimeInterval(1), maxBytes: nil)
      }
      try await database.execute(
        "DROP TRIGGER refuse_delete\(database.dialect == .sqlite ? "" : " ON bus_segments")", [])
      #expect(journal.size.events == 50)
      let resent = try await journal.append(Self.entries(Array(events[..<10])))
      #expect(resent.allSatisfy { $0.status == .duplicate })
      #expect(resent.map(\.position) == stored[..<10].map(\.position))
      // More events, until the generation holding the restored fingerprints has been written.
      var indexed: SQLValue = .null
      for batch in 0..<60 where indexed != .integer(50) {
        let more = BusTestSupport.events(source: "/more", count: 1_000, prefix: "m\(batch)")
        _ = try await journal.append(Self.entries(more))
        indexed =
          try await database.query("SELECT COUNT(*) AS n FROM bus_fingerprints WHERE event_offset <= 50", [])
          .first?["n"] ?? .null
      }
      #expect(indexed == .integer(50))
      let again = try await Journal(database: database, partitions: 1).append(
        Self.entries(Array(events[40...])))
      #expect(again.map(\.position) == stored[40...].map(\.position))
      #expect(again.allSatisfy { $0.status == .duplicate })
    }
  }

  /// Waiting fingerprints keep every event that has them (two identities may share one), and
  /// forget the events retention removed.
  @Test func waitingFingerprintsKeepEveryPositionUntilPruned() {
    var pending = PendingIdentities(
      watermark: [0, 0], indexed: IdentityFilter(expected: 0, newest: [0, 0]), now: .now)
    let (a, b, c) = (
      EventPosition(partition: 0, offset: 1), EventPosition(partition: 1, offset: 1),
      EventPosition(partition: 0, offset: 2)
    )
    pending.add(7, at: a)
    pending.add(7, at: b)
    pending.add(8, at: c)
    #expect(pending.positions(of: 7) == [a, b])
    #expect(pending.positions(of: 9).isEmpty)
    pending.pruned(partition: 0, through: 1)
    #expect(pending.positions(of: 7) == [b])
    #expect(pending.positions(of: 8) == [c])
    pending.pruned(partition: 1, through: 1)
    #expect(pending.positions(of: 7).isEmpty)
  }

  /// A generation is a sixteenth of the index, so that its keys keep sharing pages as it grows.
  @Test func aGenerationIsASixteenthOfTheIndex() {
    var filter = IdentityFilter(expected: 0, newest: [0, 0])
    func generation() -> Int { PendingIdentities(watermark: [0], indexed: filter, now: .now).generationSize }
    #expect(generation() == PendingIdentities.minimumGeneration)
    for fingerprint in 0..<UInt64(1_000_000) { filter.insert(fingerprint &* 0x9E37_79B9_7F4A_7C15, at: nil) }
    #expect(generation() == 62_500)
  }

  /// The filter forgets its oldest layer once retention has removed every event it covers, so
  /// that it does not grow with the bus's uptime.
  @Test func theIdentityFilterForgetsWhatRetentionRemoved() {
    var filter = IdentityFilter(expected: 0, newest: [0, 0])
    let layer = IdentityFilter.minimumLayer
    let old = (0..<layer).map { EventIdentity(source: "/f", id: "old-\($0)").fingerprint }
    for (index, fingerprint) in old.enumerated() {
      filter.insert(fingerprint, at: EventPosition(partition: index % 2, offset: Int64(index / 2 + 1)))
    }
    let new = (0..<1_000).map { EventIdentity(source: "/f", id: "new-\($0)").fingerprint }
    for (index, fingerprint) in new.enumerated() {
      filter.insert(fingerprint, at: EventPosition(partition: 0, offset: Int64(layer / 2 + 1 + index)))
    }
    #expect(filter.layerCount == 2)
    // Partition 1 is not pruned far enough yet: the old layer stays.
    filter.forget(prunedThrough: [Int64(layer / 2), Int64(layer / 2 - 1)])
    #expect(filter.layerCount == 2)
    filter.forget(prunedThrough: [Int64(layer / 2), Int64(layer / 2)])
    #expect(filter.layerCount == 1)
    #expect(filter.count == 1_000)
    #expect(new.allSatisfy { filter.mayContain($0) })
    #expect(old.filter { filter.mayContain($0) }.count < old.count / 50)
    // The layer being filled is never forgotten.
    filter.forget(prunedThrough: [Int64.max, Int64.max])
    #expect(filter.layerCount == 1)
  }

  @Test func theIdentityFilterNeverMissesAndRarelyGuesses() {
    var filter = IdentityFilter(expected: 1_000, newest: [0])
    let stored = (0..<1_200_000).map { EventIdentity(source: "/f", id: "evt-\($0)") }
    // Past its first layer, into a second.
    for identity in stored { filter.insert(identity.fingerprint, at: nil) }
    #expect(stored.allSatisfy { filter.mayContain($0.fingerprint) })
    let others = (0..<100_000).filter {
      !filter.mayContain(EventIdentity(source: "/f", id: "other-\($0)").fingerprint)
    }
    #expect(others.count > 96_000)  // about one "maybe" in a hundred per layer
  }

  @Test(arguments: TestDatabases.backends)
  func segmentsSplitAndReplayAcrossTheirBoundaries(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 1)
      let events = BusTestSupport.events(source: "/s", count: 1_000)
      _ = try await journal.append(Self.entries(Array(events[0..<600])))
      _ = try await journal.append(Self.entries(Array(events[600...])))
      // 600 events in one commit make three segments; the second commit two more.
      let segments = try await database.query(
        "SELECT event_count FROM bus_segments ORDER BY first_offset", [])
      #expect(segments.map(\.values) == [256, 256, 88, 256, 144].map { [SQLValue.integer($0)] })
      var offsets: [Int64] = []
      var bodies: [[UInt8]] = []
      var from: Int64 = 1
      for _ in 0..<20 where from <= 1_000 {
        let page = try await journal.fetch(FetchRequest(partition: 0, from: from, max: 300))
        offsets += page.header.offsets
        bodies += page.bodies
        from = page.header.next
      }
      #expect(offsets == Array(1...1_000))
      #expect(bodies == events.map { $0.encoded() })
      // A filter examines at most `fetchScanLimit` events per call and says where to go on.
      let start = try await journal.fetch(FetchRequest(partition: 0, from: 255, max: 2, prefixes: ["pos."]))
      #expect(start.header.offsets == [256, 259])
      #expect(start.header.next == 260)
    }
  }

  /// `bus_fingerprints` says where an event with the same fingerprint is; only the identity read
  /// back from that event's segment makes a resend a duplicate, so two identities sharing a
  /// fingerprint are never taken for each other.
  @Test(arguments: TestDatabases.backends)
  func aFingerprintMatchIsCheckedAgainstTheStoredEvent(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend) { database in
      let journal = try await Journal(database: database, partitions: 2)
      let events = BusTestSupport.events(source: "/collide", count: 10)
      let stored = try await journal.append(Self.entries(events))
      // As if a new event's identity had the same fingerprint as the third one's.
      let stranger = BusTestSupport.events(source: "/collide", count: 1, prefix: "stranger")[0]
      try await database.execute(
        "INSERT INTO bus_fingerprints (fingerprint, partition_no, event_offset) VALUES (?, ?, ?)",
        [
          .integer(EventIdentity(source: stranger.source, id: stranger.id).key),
          .integer(Int64(stored[2].position.partition)), .integer(stored[2].position.offset),
        ])
      let reopened = try await Journal(database: database, partitions: 2)  // its filter has that row
      let outcomes = try await reopened.append(Self.entries([stranger, events[2]]))
      #expect(outcomes[0].status == .stored)
      #expect(outcomes[1].status == .duplicate)
      #expect(outcomes[1].position == stored[2].position)
    }
  }

  /// A journal of the second format (identities by their texts, in `bus_identities`) has them
  /// moved into `bus_fingerprints` when it opens, and resends are still recognised.
  @Test(arguments: TestDatabases.backends)
  func identitiesOfTheSecondFormatAreMovedToFingerprints(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: Array(JournalSchema.migrations.prefix(3))) {
      database in
      let events = BusTestSupport.events(source: "/second", count: 20)
      var segment = JournalSegment()
      for event in events { segment.append(Journal.Entry(event: event, body: event.encoded())) }
      let (directory, bodies) = (segment.directory, segment.bodies)
      try await database.transaction { transaction in
        try await transaction.execute(
          """
          INSERT INTO bus_segments
            (partition_no, first_offset, last_offset, stored_at, event_count, byte_count, directory, bodies)
          VALUES (0, 1, 20, ?, 20, ?, ?, ?)
          """,
          [
            .integer(Int64(Date().timeIntervalSince1970 * 1000)), .integer(Int64(bodies.count)),
            .blob(directory), .blob(bodies),
          ])
        try await transaction.executeBatch(
          "INSERT INTO bus_identities (event_id, source, partition_no, event_offset) VALUES (?, ?, 0, ?)",
          events.enumerated().map { [.text($1.id), .text($1.source), .integer(Int64($0 + 1))] })
        try await transaction.execute("INSERT INTO bus_settings (name, value) VALUES ('partitions', '1')", [])
      }
      let journal = try await Journal(database: database, partitions: 1)
      #expect(journal.currentHeads == [20])
      let moved = try await database.query("SELECT COUNT(*) AS n FROM bus_fingerprints", [])
      #expect(moved.first?["n"] == .integer(20))
      let fresh = BusTestSupport.events(source: "/second", count: 1, prefix: "fresh")
      let outcomes = try await journal.append(Self.entries([events[5]] + fresh))
      #expect(outcomes[0].status == .duplicate)
      #expect(outcomes[0].position == EventPosition(partition: 0, offset: 6))
      #expect(outcomes[1].status == .stored)
      #expect(outcomes[1].position == EventPosition(partition: 0, offset: 21))
      await #expect(throws: (any Error).self) {
        try await database.query("SELECT COUNT(*) FROM bus_identities_legacy", [])
      }
    }
  }

  @Test(arguments: TestDatabases.backends)
  func eventsInTheFirstFormatAreMovedIntoSegments(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabase(backend, migrations: [JournalSchema.migrations[0]]) { database in
      let events = BusTestSupport.events(source: "/legacy", count: 1_500, customers: 2)
      let partitioner = Partitioner(count: 2)
      var heads = [Int64](repeating: 0, count: 2)
      var rows: [[SQLValue]] = []
      for event in events {
        let partition = partitioner.partition(of: event)
        heads[partition] += 1
        rows.append([
          .integer(Int64(partition)), .integer(heads[partition]), .text(event.source), .text(event.id),
          .text(event.type), .integer(Int64(Date().timeIntervalSince1970 * 1000)), .blob(event.encoded()),
        ])
      }
      let (legacyRows, legacyHeads) = (rows, heads)
      try await database.transaction { transaction in
        try await transaction.executeBatch(
          """
          INSERT INTO bus_events (partition_no, event_offset, source, event_id, event_type, stored_at, body)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          """, legacyRows)
        try await transaction.executeBatch(
          "INSERT INTO bus_partitions (partition_no, head) VALUES (?, ?)",
          legacyHeads.enumerated().map { [.integer(Int64($0.offset)), .integer($0.element)] })
        try await transaction.execute("INSERT INTO bus_settings (name, value) VALUES ('partitions', '2')", [])
      }
      let journal = try await Journal(database: database, partitions: 2)
      #expect(await journal.currentHeads == heads)
      #expect(journal.size.events == 1_500)
      let page = try await journal.fetch(FetchRequest(partition: 0, from: 1, max: 1000))
      #expect(page.header.offsets == Array(1...min(1000, heads[0])))
      #expect(page.bodies.first == events.first { partitioner.partition(of: $0) == 0 }?.encoded())
      // Their identities came along: resending is a duplicate at the same place.
      let again = try await journal.append(Self.entries([events[7]]))
      #expect(again.first?.status == .duplicate)
      #expect(
        again.first?.position.offset
          == Int64(rows.filter { $0[0] == rows[7][0] }.firstIndex { $0[3] == rows[7][3] }! + 1))
      await #expect(throws: (any Error).self) {
        try await database.query("SELECT COUNT(*) FROM bus_events_legacy", [])
      }
    }
  }
}
