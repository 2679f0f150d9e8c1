import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
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

  /// `passerelle up` (what `scripts/run` starts): the bus and the demo, until SIGTERM; and a bus
  /// that cannot start is reported at once, with the end of its log.
  @Test func upRunsTheBusAndTheDemoUntilStopped() async throws {
    let directory = try TestPaths.temporaryDirectory("up")
    defer { try? FileManager.default.removeItem(at: directory) }
    let environment = [
      "PASSERELLE_BUS_INGEST": "ipc://\(directory.path)/in",
      "PASSERELLE_BUS_LIVE": "ipc://\(directory.path)/live",
      "PASSERELLE_BUS_QUERY": "ipc://\(directory.path)/query", "PASSERELLE_HTTP_PORT": "0",
    ]
    let up = try TestProcess(
      TestPaths.executable("passerelle"),
      [
        "up", "--data", directory.appendingPathComponent("data").path, "--demo-rate", "20", "--demo-journeys",
        "3",
      ],
      environment: environment)
    let client = try BusClient(
      endpoints: BusEndpoints(
        ingest: "ipc://\(directory.path)/in", live: "ipc://\(directory.path)/live",
        query: "ipc://\(directory.path)/query"))
    let demoStored = await eventually(within: .seconds(60)) {
      ((try? await client.info(timeout: .seconds(1)).heads.reduce(0, +)) ?? 0) > 0
    }
    #expect(demoStored, "\(up.outputText)")
    #expect(up.isRunning, "up runs on after the demo")
    up.signal(SIGTERM)
    #expect(await up.waitForExit(timeout: .seconds(30)) == 0, "\(up.outputText)")
    #expect(up.outputText.contains("passerelle-bus stopped"))

    // The same endpoints, and an HTTP port that is taken: up reports the bus's own error.
    let (listener, port) = try TestPaths.listeningSocket()
    defer { close(listener) }
    let taken = try TestProcess(
      TestPaths.executable("passerelle"),
      ["up", "--data", directory.appendingPathComponent("data2").path, "--demo-rate", "0"],
      environment: environment.merging(["PASSERELLE_HTTP_PORT": "\(port)"]) { $1 })
    #expect(await taken.waitForExit(timeout: .seconds(20)) == 69, "\(taken.outputText)")
    #expect(
      taken.outputText.contains(#"PASSERELLE_HTTP_PORT="\#(port)": cannot listen on it"#),
      "\(taken.outputText)")
  }

  /// Starts `passerelle up` with its data and ipc endpoints in `directory`; returns it, its bus's
  /// pid (from the banner) and a client of that bus.
  static func startUp(in directory: URL, demoRate: Int) async throws -> (TestProcess, Int32, BusClient) {
    let endpoints = BusEndpoints(
      ingest: "ipc://\(directory.path)/in", live: "ipc://\(directory.path)/live",
      query: "ipc://\(directory.path)/query")
    let up = try TestProcess(
      TestPaths.executable("passerelle"),
      ["up", "--data", directory.appendingPathComponent("data").path, "--demo-rate", "\(demoRate)"],
      environment: [
        "PASSERELLE_BUS_INGEST": endpoints.ingest, "PASSERELLE_BUS_LIVE": endpoints.live,
        "PASSERELLE_BUS_QUERY": endpoints.query, "PASSERELLE_HTTP_PORT": "0",
      ])
    let banner = try #require(
      await up.waitForLine(startingWith: "passerelle-bus started (pid ", timeout: .seconds(30)),
      "\(up.outputText)")
    let busPID = try #require(
      Int32(banner.dropFirst("passerelle-bus started (pid ".count).prefix { $0.isNumber }))
    return (up, busPID, try BusClient(endpoints: endpoints))
  }

  /// `passerelle up` killed with SIGKILL cannot stop its bus, so the bus notices that its parent
  /// is gone (`PASSERELLE_PARENT_PID`), drains and exits by itself.
  @Test func upKilledLeavesNoBusBehind() async throws {
    let directory = try TestPaths.temporaryDirectory("up-kill")
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = directory.appendingPathComponent("data")
    let (up, busPID, client) = try await Self.startUp(in: directory, demoRate: 0)
    defer { up.stop() }
    defer {
      // Only if that pid is still this test's bus: once reaped, it may be another process's.
      let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(busPID)/environ"))) ?? Data()
      if String(decoding: environment, as: UTF8.self).contains(directory.path) { kill(busPID, SIGKILL) }
    }
    #expect(await eventually(within: .seconds(30)) { (try? await client.info(timeout: .seconds(1))) != nil })

    up.signal(SIGKILL)
    // Gone, or a zombie waiting for whoever adopted it to reap it.
    let busExited = await eventually(within: .seconds(20)) {
      guard let stat = try? String(contentsOfFile: "/proc/\(busPID)/stat", encoding: .utf8) else {
        return true
      }
      return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }
    #expect(busExited, "the bus outlived passerelle up")
    let log =
      (try? String(contentsOf: data.appendingPathComponent("passerelle-bus.log"), encoding: .utf8)) ?? ""
    #expect(log.contains("parent process exited: draining"), "\(log)")
    #expect(log.contains(#""msg":"drained""#), "\(log)")
  }

  /// A bus that dies under `passerelle up` (here while the demo runs) is reported, with its
  /// status and the end of its log, and `up` exits 69 instead of carrying on without it.
  @Test func upReportsABusThatDies() async throws {
    let directory = try TestPaths.temporaryDirectory("up-dies")
    defer { try? FileManager.default.removeItem(at: directory) }
    let (up, busPID, client) = try await Self.startUp(in: directory, demoRate: 5)
    defer { up.stop() }
    #expect(
      await eventually(within: .seconds(30)) {
        ((try? await client.info(timeout: .seconds(1)).heads.reduce(0, +)) ?? 0) > 0
      }, "the demo is publishing")
    kill(busPID, SIGKILL)
    #expect(await up.waitForExit(timeout: .seconds(20)) == 69, "\(up.outputText)")
    #expect(up.outputText.contains("passerelle-bus was killed by signal 9 unasked"), "\(up.outputText)")
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
    #expect(bad == 65)
    #expect(badOutput.contains(#"argument 1: field "id": missing"#), "\(badOutput)")
    #expect(!badOutput.contains("Usage:"), "bad data is not a usage error")
    // What the bus would refuse is refused before anything is sent, naming the line of the file.
    let reservedFile = bus.directory.appendingPathComponent("reserved.jsonl")
    try Data(
      (#"{"specversion":"1.0","id":"ok-1","source":"/x","type":"t"}"# + "\n\n"
        + #"{"specversion":"1.0","id":"r-1","source":"/x","type":"~head"}"# + "\n").utf8
    ).write(to: reservedFile)
    let (reserved, reservedOutput) = try await Self.run(
      ["publish", "--file", reservedFile.path, "--outbox", outbox], bus)
    #expect(reserved == 65)
    #expect(
      reservedOutput.contains(#"reserved.jsonl line 3: field "type": types starting with "~" are reserved"#),
      "\(reservedOutput)")
    let (missing, missingOutput) = try await Self.run(
      ["publish", "--file", "/nonexistent/events.jsonl", "--outbox", outbox], bus)
    #expect(missing == 66)
    #expect(missingOutput.contains("--file /nonexistent/events.jsonl: cannot read it"), "\(missingOutput)")
    #expect(!missingOutput.contains("NSCocoaErrorDomain"), "\(missingOutput)")
    let heads = try await BusTestSupport.client(bus).info().heads.reduce(0, +)
    #expect(heads == 12, "nothing of the refused files was sent")
    // A malformed endpoint is a bad setting, named by the flag that gave it.
    let (badEndpoint, badEndpointOutput) = try await Self.run(
      ["lag", "--bus-query", "tcp://127.0.0.1:abc"], bus)
    #expect(badEndpoint == 78)
    #expect(
      badEndpointOutput.contains(#"--bus-query="tcp://127.0.0.1:abc": port "abc""#), "\(badEndpointOutput)")
    // Values no command could use are usage errors, named.
    for (arguments, expected) in [
      (["tail", "--count", "0"], "--count must be at least 1, got 0"),
      (["tail", "--from=-5"], "--from must be an offset of 1 or more, got -5"),
      (["demo", "--rate=-5"], "--rate must be more than 0 journeys per second"),
      (["archive", "--name", ""], "--name must be 1 to 200 characters"),
    ] {
      let (status, output) = try await Self.run(arguments, bus)
      #expect(status == 64, "\(arguments): \(output)")
      #expect(output.contains(expected), "\(arguments): \(output)")
    }
    // A tail that could never print anything says why instead of waiting forever.
    let (noPartition, noPartitionOutput) = try await Self.run(["tail", "--partition", "99"], bus)
    #expect(noPartition == 78)
    #expect(
      noPartitionOutput.contains(#"--partition="99": the bus has partitions 0-15"#), "\(noPartitionOutput)")
    // An event larger than the bus takes is refused before anything is sent.
    let large =
      #"{"specversion":"1.0","id":"big-1","source":"/x","type":"t","data":""#
      + String(repeating: "x", count: 1 << 20) + #""}"#
    let largeFile = bus.directory.appendingPathComponent("large.jsonl")
    try Data(large.utf8).write(to: largeFile)
    let (tooLarge, tooLargeOutput) = try await Self.run(
      ["publish", "--file", largeFile.path, "--outbox", outbox], bus)
    #expect(tooLarge == 65, "\(tooLargeOutput.prefix(500))")
    #expect(tooLargeOutput.contains("large.jsonl line 1: too large"), "\(tooLargeOutput.prefix(500))")
    // Events an earlier run left in the outbox go first and are counted apart from this run's.
    let leftoverOutbox = bus.directory.appendingPathComponent("leftover.db").path
    try await Database.withDatabase(
      url: leftoverOutbox, logger: Logger(label: "test"), migrations: BusClientSchema.migrations
    ) { database in
      try await Publisher(database: database).publish(BusTestSupport.events(source: "/left", count: 3))
    }
    let (withLeftovers, leftoverOutput) = try await Self.run(
      [
        "publish", #"{"specversion":"1.0","id":"now-1","source":"/x","type":"t"}"#, "--outbox",
        leftoverOutbox,
      ], bus)
    #expect(withLeftovers == 0, "\(leftoverOutput)")
    #expect(leftoverOutput.contains("sending first 3 events left"), "\(leftoverOutput)")
    #expect(leftoverOutput.contains("published 1 event; and 3 left by an earlier run"), "\(leftoverOutput)")
    #expect(await bus.terminate() == 0)
    // Without a bus, the query verbs say where they looked, in one line.
    for verb in ["lag", "tail"] {
      let (status, output) = try await Self.run([verb], bus)
      #expect(status == 69, "\(verb): \(output)")
      #expect(output.contains("no answer from the bus at \(bus.query)"), "\(verb): \(output)")
    }
  }
}
