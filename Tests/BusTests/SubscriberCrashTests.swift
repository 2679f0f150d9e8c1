import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import PasserelleStorageTestKit
import PasserelleTestKit
import Testing

/// Issue 4, test 2: a subscriber killed with `kill -9` mid-stream resumes from its checkpoint.
@Suite(.serialized) struct SubscriberCrashTests {
  @Test(arguments: TestDatabases.backends)
  func everyEffectIsAppliedExactlyOnce(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabaseURL(backend) { journalURL in
      try await TestDatabases.withDatabaseURL(backend) { archiveURL in
        let bus = try TestBus(databaseURL: journalURL)
        try await bus.start()
        let client = try BusTestSupport.client(bus)
        let events = BusTestSupport.events(source: "/web", count: 8_000)
        let arguments = ["archive", "--database", archiveURL, "--name", "archive"]
        var archiver = try TestProcess(
          TestPaths.executable("passerelle"), arguments, environment: bus.clientEnvironment)

        // Publish in the background while the archiver is killed and restarted.
        let published = Task {
          for start in stride(from: 0, to: events.count, by: 100) {
            let outcomes = try await client.publish(
              events[start..<min(start + 100, events.count)].map { $0.encoded() })
            #expect(outcomes.allSatisfy { $0.status == .stored })
            try await Task.sleep(for: .milliseconds(25))
          }
        }
        defer { published.cancel() }  // if the test fails before waiting for it
        try await Database.withDatabase(url: archiveURL, logger: Logger(label: "test")) { database in
          @Sendable func archived() async -> Int {
            (try? await Self.count("SELECT COUNT(*) AS n FROM archived_events", database)) ?? 0
          }
          // A kill counts as mid-stream when the archiver had moved since the last one and had not
          // archived everything.
          var generator = SystemRandomNumberGenerator()
          var midStream = 0
          var before = 0
          for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 400...1200, using: &generator)))
            let now = await archived()
            archiver.signal(SIGKILL)
            if now > before, now < events.count { midStream += 1 }
            before = now
            await archiver.waitForExit(timeout: .seconds(10))
            archiver = try TestProcess(
              TestPaths.executable("passerelle"), arguments, environment: bus.clientEnvironment)
          }
          try await published.value
          #expect(midStream >= 2, "\(midStream) of 4 kills while archiving")
          // A last few events after the last restart: the archiver that applies them is running
          // (its signal handling is in place for the SIGTERM below), whatever the others left.
          let last = BusTestSupport.events(source: "/web-last", count: 10)
          _ = try await client.publish(last.map { $0.encoded() })
          let total = events.count + last.count

          // Done when the archiver's checkpoints reach the heads: nothing is left to apply, so
          // the counts below are final.
          let heads = try await client.info().heads.reduce(0, +)
          let done = try await eventually(within: .seconds(180)) {
            try await Self.count(
              "SELECT COALESCE(SUM(event_offset), 0) AS n FROM bus_checkpoints WHERE subscriber = 'archive'",
              database) == Int(heads)
          }
          let archivedCount = await archived()
          #expect(done, "\(archivedCount) archived; archiver output: \(archiver.outputText)")
          #expect(try await Self.count("SELECT COUNT(*) AS n FROM archived_events", database) == total)
          #expect(
            try await Self.count(
              "SELECT COUNT(*) AS n FROM (SELECT DISTINCT source, event_id FROM archived_events) d", database)
              == total)
          #expect(try await Self.count("SELECT SUM(events) AS n FROM archived_counts", database) == total)
        }
        archiver.signal(SIGTERM)
        let stopped = await archiver.waitForExit(timeout: .seconds(20))
        #expect(stopped == 0, "exit status \(String(describing: stopped)); output: \(archiver.outputText)")
        #expect(await bus.terminate() == 0)
      }
    }
  }

  static func count(_ sql: String, _ database: any SQLDatabase) async throws -> Int {
    switch try await database.query(sql, []).first?["n"] {
    case .integer(let n)?: Int(n)
    case .real(let n)?: Int(n)
    default: 0
    }
  }
}
