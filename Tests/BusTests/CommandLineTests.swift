import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleTestKit
import Testing

/// The operator's verbs against a real bus: publish, tail (replay then live), lag, bad input.
@Suite struct CommandLineTests {
  static func run(_ arguments: [String], _ bus: TestBus, timeout: Duration = .seconds(60)) async throws -> (
    Int32?, String
  ) {
    let process = try TestProcess(
      TestPaths.executable("passerelle"), arguments, environment: bus.clientEnvironment)
    let status = await process.waitForExit(timeout: timeout)
    process.stop()
    return (status, process.outputText)
  }

  @Test func publishTailAndLag() async throws {
    let bus = try TestBus()
    try await bus.start()
    let events = BusTestSupport.events(source: "/cli", count: 12, customers: 3)
    let file = bus.directory.appendingPathComponent("events.jsonl")
    try BusTestSupport.writeLines(events, to: file)
    let outbox = bus.directory.appendingPathComponent("outbox.db").path
    let (published, publishOutput) = try await Self.run(
      ["publish", "--file", file.path, "--outbox", outbox], bus)
    #expect(published == 0, "\(publishOutput)")
    #expect(publishOutput.contains("published 12 events"))

    let (tailed, tailOutput) = try await Self.run(
      ["tail", "--from", "1", "--count", "4", "--key", "customer-1", "--json"], bus)
    #expect(tailed == 0, "\(tailOutput)")
    let lines = tailOutput.split(separator: "\n").filter { $0.hasPrefix("{") }
    #expect(lines.count == 4)
    #expect(lines.allSatisfy { $0.contains(#""partitionkey":"customer-1""#) })

    let archive = bus.directory.appendingPathComponent("archive.db").path
    let archiver = try TestProcess(
      TestPaths.executable("passerelle"), ["archive", "--database", archive, "--name", "analytics"],
      environment: bus.clientEnvironment)
    let reported = await eventually(within: .seconds(20)) {
      let (_, lag) = (try? await Self.run(["lag"], bus)) ?? (nil, "")
      return lag.contains("analytics") && lag.contains("total analytics: 0 behind")
    }
    #expect(reported)
    archiver.signal(SIGTERM)
    #expect(await archiver.waitForExit(timeout: .seconds(20)) == 0)

    let (bad, badOutput) = try await Self.run(
      ["publish", #"{"specversion":"1.0","source":"/x","type":"t"}"#], bus)
    #expect(bad != 0)
    #expect(badOutput.contains(#"event 1: field "id": missing"#), "\(badOutput)")
    // A tail that could never print anything says why instead of waiting forever.
    let (noPartition, noPartitionOutput) = try await Self.run(["tail", "--partition", "99"], bus)
    #expect(noPartition == 78)
    #expect(
      noPartitionOutput.contains(#"--partition="99": the bus has partitions 0-15"#), "\(noPartitionOutput)")
    #expect(await bus.terminate() == 0)
  }
}
