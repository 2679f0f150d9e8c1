import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Testing

/// Issue 4, test 5: two instances share the partitions through PostgreSQL leases; one is killed,
/// the other takes its partitions over within 10 seconds, nothing lost or doubled.
@Suite(.serialized) struct PartitionLeaseTests {
  /// The archivers' leases and checkpoints are in PostgreSQL; the bus's journal is on either
  /// backend. The leases are the archive command's default (5 s).
  @Test(arguments: TestDatabases.backends.contains(.postgres) ? TestDatabases.backends : [])
  func killedInstancesPartitionsAreTakenOver(journal: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabaseURL(journal) { journalURL in
      try await TestDatabases.withDatabaseURL(.postgres) { archiveURL in
        let bus = try TestBus(databaseURL: journalURL)
        try await bus.start()
        let client = try BusTestSupport.client(bus)
        func instance(_ name: String) throws -> TestProcess {
          try Self.archiver(name, archiveURL: archiveURL, bus: bus)
        }
        let first = try instance("a")
        let second = try instance("b")
        let partitions = try await client.info().partitions
        try await Database.withDatabase(url: archiveURL, logger: Logger(label: "test")) { database in
          // The archivers create their tables on start: until then there is nothing to read.
          let split = await eventually(within: .seconds(30)) {
            (try? await Self.owners(database)) == ["a": partitions / 2, "b": partitions - partitions / 2]
          }
          let leases = try? await Self.owners(database)
          #expect(split, "leases: \(leases ?? [:])\n\(first.outputText)\n\(second.outputText)")
          let leasesOfA = try await Self.partitions(of: "a", database)

          let events = BusTestSupport.events(source: "/app", count: 10_000)
          for start in stride(from: 0, to: 5_000, by: 500) {
            _ = try await client.publish(events[start..<(start + 500)].map { $0.encoded() })
          }
          #expect(try await eventually(within: .seconds(60)) { try await Self.count(database) == 5_000 })
          // Each instance got only its share: every partition was archived by its lease holder.
          let archivedByA = try await database.query(
            "SELECT DISTINCT partition_no FROM archived_events WHERE archived_by = 'a'", []
          ).compactMap { row -> Int? in if case .integer(let p) = row["partition_no"] { Int(p) } else { nil }
          }
          #expect(Set(archivedByA) == leasesOfA)

          // The second half is published while `a` is killed, mid-stream.
          let publishing = Task {
            for start in stride(from: 5_000, to: 10_000, by: 250) {
              _ = try await client.publish(events[start..<(start + 250)].map { $0.encoded() })
              try await Task.sleep(for: .milliseconds(50))
            }
          }
          defer { publishing.cancel() }  // if the test fails before waiting for it
          #expect(try await eventually(within: .seconds(30)) { try await Self.count(database) > 5_500 })
          first.signal(SIGKILL)
          let killedAt = ContinuousClock.now
          // Taken over: `b` archives an event of one of `a`'s partitions stored after the kill
          // (one more batch, spread over every partition, is published after it).
          let killedHeads = try await client.info().heads
          let after = BusTestSupport.events(source: "/app-after", count: 250)
          _ = try await client.publish(after.map { $0.encoded() })
          let probe = TakeoverProbe(heads: killedHeads, partitions: leasesOfA)
          // A loop rather than `eventually`: Swift 6.3 fails to compile this closure here (SIL
          // "function type mismatch").
          var takenOver = false
          while !takenOver, ContinuousClock.now - killedAt < .seconds(15) {
            takenOver = try await probe.seen(in: database)
            if !takenOver { try await Task.sleep(for: .milliseconds(20)) }
          }
          let takeover = ContinuousClock.now - killedAt
          #expect(takenOver)
          #expect(takeover < .seconds(10), "takeover took \(takeover)")
          try await publishing.value
          #expect(try await Self.owners(database) == ["b": partitions])
          // Done when the checkpoints reach the heads: nothing is left to apply.
          let heads = try await client.info().heads.reduce(0, +)
          #expect(
            try await eventually(within: .seconds(60)) {
              try await Self.checkpointed(database) == heads
            })
          #expect(try await Self.count(database) == 10_250)
          let distinct = try await database.query(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT source, event_id FROM archived_events) d", [])
          #expect(distinct.first?["n"] == .integer(10_250))
        }
        second.signal(SIGTERM)
        #expect(await second.waitForExit(timeout: .seconds(20)) == 0)
        #expect(await bus.terminate() == 0)
      }
    }
  }

  /// An instance stopped with SIGTERM gives its leases back, so the other holds every partition
  /// at its next heartbeat rather than when the leases expire (30 s here); an instance that joins
  /// then gets its fair share from the one holding them all. Nothing lost or doubled throughout.
  @Test(arguments: TestDatabases.backends.filter { $0 == .postgres })
  func stoppedInstanceHandsOverAndAJoinerGetsItsShare(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabaseURL(backend) { journalURL in
      try await TestDatabases.withDatabaseURL(backend) { archiveURL in
        let bus = try TestBus(databaseURL: journalURL)
        try await bus.start()
        let client = try BusTestSupport.client(bus)
        func instance(_ name: String) throws -> TestProcess {
          try Self.archiver(name, archiveURL: archiveURL, bus: bus, leaseSeconds: 30)
        }
        let a = try instance("a")
        let b = try instance("b")
        let partitions = try await client.info().partitions
        let half = partitions / 2
        let events = BusTestSupport.events(source: "/app", count: 4_000)
        try await Database.withDatabase(url: archiveURL, logger: Logger(label: "test")) { database in
          let split = await eventually(within: .seconds(30)) {
            (try? await Self.owners(database)) == ["a": half, "b": partitions - half]
          }
          #expect(split, "\(a.outputText)\n\(b.outputText)")
          for start in stride(from: 0, to: 2_000, by: 500) {
            _ = try await client.publish(events[start..<(start + 500)].map { $0.encoded() })
          }
          #expect(try await eventually(within: .seconds(60)) { try await Self.count(database) == 2_000 })

          b.signal(SIGTERM)
          let stoppedAt = ContinuousClock.now
          #expect(await b.waitForExit(timeout: .seconds(20)) == 0, "\(b.outputText)")
          var handedOver = false
          while !handedOver, ContinuousClock.now - stoppedAt < .seconds(20) {
            handedOver = try await Self.owners(database) == ["a": partitions]
            if !handedOver { try await Task.sleep(for: .milliseconds(20)) }
          }
          let handover = ContinuousClock.now - stoppedAt
          #expect(handedOver)
          #expect(handover < .seconds(10), "handover took \(handover): the leases expired instead")

          let c = try instance("c")
          let shared = await eventually(within: .seconds(30)) {
            (try? await Self.owners(database)) == ["a": partitions - half, "c": half]
          }
          let owners = try? await Self.owners(database)
          #expect(shared, "leases: \(owners ?? [:])\n\(c.outputText)")
          for start in stride(from: 2_000, to: 4_000, by: 500) {
            _ = try await client.publish(events[start..<(start + 500)].map { $0.encoded() })
          }
          let heads = try await client.info().heads.reduce(0, +)
          #expect(
            try await eventually(within: .seconds(60)) { try await Self.checkpointed(database) == heads })
          #expect(try await Self.count(database) == 4_000)
          let distinct = try await database.query(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT source, event_id FROM archived_events) d", [])
          #expect(distinct.first?["n"] == .integer(4_000))
          let byC = try await SubscriberCrashTests.count(
            "SELECT COUNT(*) AS n FROM archived_events WHERE archived_by = 'c'", database)
          #expect(byC > 0, "the joiner archived nothing")
          c.signal(SIGTERM)
          #expect(await c.waitForExit(timeout: .seconds(20)) == 0)
        }
        a.signal(SIGTERM)
        #expect(await a.waitForExit(timeout: .seconds(20)) == 0)
        #expect(await bus.terminate() == 0)
      }
    }
  }

  /// Instance `name` of the `archive` subscriber into `archiveURL`, with leases of `leaseSeconds`
  /// (the command's default when `nil`).
  static func archiver(_ name: String, archiveURL: String, bus: TestBus, leaseSeconds: Int? = nil) throws
    -> TestProcess
  {
    try TestProcess(
      TestPaths.executable("passerelle"),
      ["archive", "--database", archiveURL, "--name", "archive", "--instance", name]
        + (leaseSeconds.map { ["--lease-seconds", "\($0)"] } ?? []),
      environment: bus.clientEnvironment)
  }

  /// The sum of the archive subscriber's checkpoints.
  static func checkpointed(_ database: any SQLDatabase) async throws -> Int64 {
    let rows = try await database.query(
      "SELECT CAST(COALESCE(SUM(event_offset), 0) AS BIGINT) AS n FROM bus_checkpoints WHERE subscriber = 'archive'",
      [])
    if case .integer(let n)? = rows.first?["n"] { return n }
    return -1
  }

  static func owners(_ database: any SQLDatabase) async throws -> [String: Int] {
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    var owners: [String: Int] = [:]
    for row in try await database.query(
      "SELECT owner, COUNT(*) AS n FROM bus_leases WHERE subscriber = 'archive' AND expires_at > ? GROUP BY owner",
      [.integer(now)])
    {
      if case .text(let owner) = row["owner"], case .integer(let n) = row["n"] { owners[owner] = Int(n) }
    }
    return owners
  }

  static func partitions(of owner: String, _ database: any SQLDatabase) async throws -> Set<Int> {
    Set(
      try await database.query(
        "SELECT partition_no FROM bus_leases WHERE subscriber = 'archive' AND owner = ?", [.text(owner)]
      ).compactMap { row -> Int? in if case .integer(let p) = row["partition_no"] { Int(p) } else { nil } })
  }

  static func count(_ database: any SQLDatabase) async throws -> Int {
    try await SubscriberCrashTests.count("SELECT COUNT(*) AS n FROM archived_events", database)
  }
}

/// Whether instance `b` has archived an event of one of `partitions` stored after `heads`: `b`
/// has taken those partitions over.
struct TakeoverProbe: Sendable {
  let heads: [Int64]
  let partitions: Set<Int>

  func seen(in database: any SQLDatabase) async throws -> Bool {
    for partition in partitions {
      let rows = try await database.query(
        """
        SELECT COUNT(*) AS n FROM archived_events
        WHERE archived_by = 'b' AND partition_no = ? AND event_offset > ?
        """, [.integer(Int64(partition)), .integer(heads[partition])])
      if case .integer(let n)? = rows.first?["n"], n > 0 { return true }
    }
    return false
  }
}
