import Foundation
import Logging
import PasserelleBroker
import PasserelleBus
import PasserelleEvents
import PasserelleStorageTestKit
import PasserelleTestKit
import Testing

@testable import PasserelleStorage

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// One writer per journal: a second bus on the same journal waits, alive and not ready, and takes
/// over when the first is killed, numbering on from where it stopped.
@Suite(.serialized) struct JournalOwnerTests {
  @Test(arguments: TestDatabases.backends)
  func aSecondBusOnTheSameJournalWaitsThenTakesOver(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabaseURL(backend) { journalURL in
      let first = try TestBus(databaseURL: journalURL)
      try await first.start()
      // On SQLite the second bus must use the first one's file, not a file of its own.
      let second = try TestBus(databaseURL: first.databaseURL)
      try await second.start(until: "waiting to take over")
      let port = try #require(
        await eventually(within: .seconds(10)) { second.httpPort() != nil } ? second.httpPort() : nil)
      #expect(try await BusTestSupport.get(port, "/health/live").0 == 200)
      #expect(try await BusTestSupport.get(port, "/health/ready").0 == 503)

      let before = BusTestSupport.events(source: "/owner", count: 200)
      let firstOutcomes = try await BusTestSupport.client(first).publish(before.map { $0.encoded() })
      #expect(firstOutcomes.allSatisfy { $0.status == .stored })
      #expect(!second.output.contains("bus listening"), "the second bus opened the journal beside the first")

      first.kill()
      let killedAt = ContinuousClock.now
      #expect(await second.waitForOutput("bus listening", timeout: .seconds(15)))
      let takeover = ContinuousClock.now - killedAt
      #expect(takeover < .seconds(10), "took over after \(takeover)")
      #expect(
        try await eventually(within: .seconds(5)) {
          try await BusTestSupport.get(port, "/health/ready").0 == 200
        })

      // Resends of what the first bus stored are recognised; new events are numbered on.
      let after = BusTestSupport.events(source: "/owner", count: 300)
      let secondOutcomes = try await BusTestSupport.client(second).publish(after.map { $0.encoded() })
      #expect(secondOutcomes.prefix(200).allSatisfy { $0.status == .duplicate })
      #expect(secondOutcomes.dropFirst(200).allSatisfy { $0.status == .stored })
      let stored = try await BusTestSupport.readJournal(try BusTestSupport.client(second))
      #expect(stored.count == 300)
      #expect(Set(stored.map(\.id)).count == 300, "each event once")
      #expect(BusTestSupport.orderProblem(stored) == nil, "\(BusTestSupport.orderProblem(stored) ?? "")")
      #expect(await second.terminate() == 0)
    }
  }

  /// If the PostgreSQL session that holds the journal's lock ends (a network cut, an operator's
  /// `pg_terminate_backend`), the bus stops with an error instead of writing without the lock,
  /// and the waiting bus takes over.
  @Test(arguments: TestDatabases.backends.filter { $0 == .postgres })
  func aBusThatLosesItsLockStopsAndTheOtherTakesOver(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabaseURL(backend) { journalURL in
      let first = try TestBus(databaseURL: journalURL)
      try await first.start()
      let second = try TestBus(databaseURL: journalURL)
      try await second.start(until: "waiting to take over")
      try await Database.withDatabase(url: journalURL, logger: Logger(label: "test")) { database in
        // Only the session holding this journal's lock (others on the server hold their own).
        guard
          case .text(let schema)? = try await database.query("SELECT current_schema() AS s", []).first?["s"]
        else { throw StorageError(code: .statementFailed, message: "no current schema") }
        let ended = try await database.query(
          """
          SELECT pg_terminate_backend(pid) AS ended FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = ?
          """, [.integer(ExclusiveLock.postgresKey(schema: schema, name: BrokerService.journalLock))])
        #expect(ended.count == 1)
      }
      #expect(await first.waitForExit(timeout: .seconds(20)).map { $0 != 0 } == true, "\(first.output)")
      #expect(first.output.contains("lost the PostgreSQL connection that holds the lock"))
      #expect(await second.waitForOutput("bus listening", timeout: .seconds(15)))
      let outcomes = try await BusTestSupport.client(second).publish(
        BusTestSupport.events(source: "/lost", count: 10).map { $0.encoded() })
      #expect(outcomes.allSatisfy { $0.status == .stored })
      #expect(await second.terminate() == 0)
    }
  }

  /// Journals in two schemas of one PostgreSQL database are two journals: each bus takes the
  /// lock of its own schema, and both run at once.
  @Test(arguments: TestDatabases.backends.filter { $0 == .postgres })
  func busesOnTwoSchemasOfOneDatabaseRunTogether(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabaseURL(backend) { firstURL in
      try await TestDatabases.withDatabaseURL(backend) { secondURL in
        let first = try TestBus(databaseURL: firstURL)
        try await first.start()
        let second = try TestBus(databaseURL: secondURL)
        try await second.start()
        #expect(!second.output.contains("waiting to take over"))
        #expect(await second.terminate() == 0)
        #expect(await first.terminate() == 0)
      }
    }
  }

  /// A waiting bus drains at once on SIGTERM.
  @Test func aWaitingBusStopsOnSIGTERM() async throws {
    let first = try TestBus()
    try await first.start()
    let second = try TestBus(databaseURL: first.databaseURL)
    try await second.start(until: "waiting to take over")
    #expect(await second.terminate(timeout: .seconds(10)) == 0)
    #expect(!second.output.contains("bus listening"))
    #expect(await first.terminate() == 0)
  }
}
