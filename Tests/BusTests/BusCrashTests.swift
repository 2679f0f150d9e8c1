import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleStorageTestKit
import PasserelleTestKit
import Testing

/// Issue 4, test 1: publishers keep going while the bus is killed with `kill -9` and restarted.
@Suite(.serialized) struct BusCrashTests {
  @Test(arguments: TestDatabases.backends)
  func everyAcknowledgedEventIsStoredOnceAndInOrder(backend: TestDatabases.Backend) async throws {
    try await TestDatabases.withDatabaseURL(backend) { journalURL in
      let bus = try TestBus(databaseURL: journalURL)
      try await bus.start()
      let total = 100_000
      let perPublisher = [33_334, 33_333, 33_333]
      var publishers: [TestProcess] = []
      for (index, count) in perPublisher.enumerated() {
        let file = bus.directory.appendingPathComponent("events-\(index).jsonl")
        try BusTestSupport.writeLines(
          BusTestSupport.events(source: "/till/\(index)", count: count, prefix: "p\(index)"), to: file)
        publishers.append(
          try TestProcess(
            TestPaths.executable("passerelle"),
            [
              "publish", "--file", file.path, "--outbox",
              bus.directory.appendingPathComponent("outbox-\(index).db").path,
              "--timeout", "600",
            ], environment: bus.clientEnvironment))
      }

      // Kill the bus at random moments while the publishers run, and restart it each time. A kill
      // counts as mid-stream when, just before it, some events but not all were stored and the
      // publishers were still running.
      var kills = 0
      var midStream = 0
      var generator = SystemRandomNumberGenerator()
      while midStream < 4, kills < 12, publishers.contains(where: \.isRunning) {
        try await Task.sleep(for: .milliseconds(Int.random(in: 300...1500, using: &generator)))
        let stored = try? await BusTestSupport.client(bus).info(timeout: .seconds(2)).heads.reduce(0, +)
        let publishing = publishers.contains(where: \.isRunning)
        bus.kill()
        kills += 1
        if publishing, let stored, stored > 0, stored < total { midStream += 1 }
        try await Task.sleep(for: .milliseconds(Int.random(in: 50...300, using: &generator)))
        try await bus.start()
      }
      for publisher in publishers {
        let status = await publisher.waitForExit(timeout: .seconds(900))
        #expect(status == 0, "publisher: \(publisher.outputText)")
      }

      let stored = try await BusTestSupport.readJournal(try BusTestSupport.client(bus))
      #expect(midStream >= 2, "\(midStream) of \(kills) kills while events were being stored")
      #expect(stored.count == total, "\(stored.count) stored after \(kills) kills")
      #expect(Set(stored.map { "\($0.source)#\($0.id)" }).count == total, "an event was stored twice")
      #expect(BusTestSupport.orderProblem(stored) == nil, "\(BusTestSupport.orderProblem(stored) ?? "")")
      #expect(await bus.terminate() == 0)
    }
  }
}
