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
        async let published: Void = {
          for start in stride(from: 0, to: events.count, by: 100) {
            let outcomes = try await client.publish(
              events[start..<min(start + 100, events.count)].map { $0.encoded() })
            #expect(outcomes.allSatisfy { $0.status == .stored })
            try await Task.sleep(for: .milliseconds(25))
          }
        }()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<4 {
          try await Task.sleep(for: .milliseconds(Int.random(in: 400...1200, using: &generator)))
          archiver.signal(SIGKILL)
          await archiver.waitForExit(timeout: .seconds(10))
          archiver = try TestProcess(
            TestPaths.executable("passerelle"), arguments, environment: bus.clientEnvironment)
        }
        try await published

        try await Database.withDatabase(url: archiveURL, logger: Logger(label: "test")) { database in
          let done = try await eventually(within: .seconds(180)) {
            try await Self.count("SELECT COUNT(*) AS n FROM archived_events", database) >= events.count
          }
          let archived = try await Self.count("SELECT COUNT(*) AS n FROM archived_events", database)
          #expect(done, "\(archived) archived; archiver output: \(archiver.outputText)")
          try await Task.sleep(for: .milliseconds(500))
          #expect(try await Self.count("SELECT COUNT(*) AS n FROM archived_events", database) == events.count)
          #expect(
            try await Self.count(
              "SELECT COUNT(*) AS n FROM (SELECT DISTINCT source, event_id FROM archived_events) d", database)
              == events.count)
          #expect(
            try await Self.count("SELECT SUM(events) AS n FROM archived_counts", database) == events.count)
        }
        archiver.signal(SIGTERM)
        #expect(await archiver.waitForExit(timeout: .seconds(20)) == 0, "\(archiver.outputText)")
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
