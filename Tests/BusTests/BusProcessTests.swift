import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleTestKit
import Testing
import ZeroMQ

/// The runtime, through the real `passerelle-bus`: health, metrics, drain on SIGTERM, bad settings.
@Suite struct BusProcessTests {
  /// Concurrent requests mixing new events, resends, repeats within a request and invalid
  /// events: each gets its own outcomes, offsets stay gapless, and only stored events go out live.
  @Test func mixedConcurrentRequestsAreAnsweredEachWithItsOwnOutcomes() async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let live = try await client.liveSocket(prefixes: [""])
    // A heartbeat (every 500 ms) proves the subscription has reached the bus.
    _ = try await withDeadline(.seconds(10), "a heartbeat") { try await live.receive() }
    let first = BusTestSupport.events(source: "/mix", count: 50)
    _ = try await client.publish(first.map { $0.encoded() })
    let invalid = Array(#"{"specversion":"1.0","source":"/mix","type":"x"}"#.utf8)
    let outcomes = try await withThrowingTaskGroup(of: (Int, [PublishOutcome]).self) { group in
      for request in 0..<8 {
        group.addTask {
          let fresh = BusTestSupport.events(source: "/mix-\(request)", count: 20)
          // [new…, resend of an earlier event, invalid, the request's first event again, new…]
          let bodies =
            fresh[0..<10].map { $0.encoded() } + [first[request].encoded(), invalid, fresh[0].encoded()]
            + fresh[10...].map { $0.encoded() }
          return (request, try await BusTestSupport.client(bus).publish(bodies))
        }
      }
      var all: [Int: [PublishOutcome]] = [:]
      for try await (request, outcomes) in group { all[request] = outcomes }
      return all
    }
    var storedPositions: [EventPosition] = []
    for request in 0..<8 {
      let answer = try #require(outcomes[request])
      #expect(answer.count == 23)
      #expect(answer[0..<10].allSatisfy { $0.status == .stored })
      #expect(answer[10].status == .duplicate)
      #expect(answer[11].status == .rejected && answer[11].field == "id")
      #expect(answer[12].status == .duplicate && answer[12].position == answer[0].position)
      #expect(answer[13...].allSatisfy { $0.status == .stored })
      storedPositions += (answer[0..<10] + answer[13...]).compactMap(\.position)
    }
    let journal = try await BusTestSupport.readJournal(client)
    #expect(journal.count == 50 + 8 * 20)
    #expect(BusTestSupport.orderProblem(journal) == nil)
    #expect(Set(storedPositions).count == 8 * 20)
    // The live stream carried each stored event once: 50 + 160, then only heartbeats.
    var events = 0
    for _ in 0..<10_000 {
      guard let message = try await live.receive(timeout: .seconds(2)) else { break }
      if !message[0].string.hasSuffix(Topic.headMarker) { events += 1 }
      if events == 210 { break }
    }
    #expect(events == 210)
    let extra = try await live.receive(timeout: .milliseconds(700))
    #expect(extra.map { $0[0].string.hasSuffix(Topic.headMarker) } ?? true, "no event went out twice")
    #expect(await bus.terminate() == 0)
  }

  /// One client shared by concurrent tasks: each request gets its own reply, none times out. (Tasks
  /// do not wait for replies in the order they sent: a reply taken by another task's wait was
  /// once dropped, and 3 runs in 25 timed out with 20 tasks.)
  @Test func oneClientServesConcurrentTasks() async throws {
    let bus = try TestBus()
    try await bus.start()
    let client = try BusTestSupport.client(bus)
    let answers = try await withThrowingTaskGroup(of: Int.self) { group in
      for index in 0..<100 {
        group.addTask {
          if index.isMultiple(of: 2) { return try await client.info(timeout: .seconds(5)).partitions }
          let event = BusTestSupport.events(source: "/shared-client", count: 1, prefix: "c\(index)")[0]
          return try await client.publish([event.encoded()], timeout: .seconds(5)).count
        }
      }
      return try await group.reduce(into: [Int]()) { $0.append($1) }
    }
    #expect(answers.count == 100 && answers.filter { $0 == 1 }.count == 50)
    #expect(await bus.terminate() == 0)
  }

  @Test func healthMetricsAndGracefulDrain() async throws {
    let bus = try TestBus()
    try await bus.start()
    let port = try #require(
      await eventually(within: .seconds(10)) { bus.httpPort() != nil } ? bus.httpPort() : nil)
    let live = try await BusTestSupport.get(port, "/health/live")
    #expect(live.0 == 200)
    #expect(
      try await eventually(within: .seconds(10)) {
        try await BusTestSupport.get(port, "/health/ready").0 == 200
      })
    let client = try BusTestSupport.client(bus)
    _ = try await client.publish(BusTestSupport.events(source: "/web", count: 3).map { $0.encoded() })
    _ = try await client.publish([Array(#"{"specversion":"1.0","source":"/web","type":"x"}"#.utf8)])
    // Requests over the documented limits are refused, naming what is wrong.
    await #expect(throws: ProtocolError(field: "events", reason: "1001 events in one request; at most 1000"))
    {
      _ = try await client.publish(BusTestSupport.events(source: "/bulk", count: 1001).map { $0.encoded() })
    }
    let reserved = try await client.publish([
      CloudEvent(id: "r1", source: "/web", type: "~head", data: .null).encoded()
    ])
    #expect(reserved.first?.status == .rejected && reserved.first?.field == "type")
    // The reply names a bad extension; the metric counts it under one label whatever its name.
    let badExtension = try await client.publish([
      Array(#"{"specversion":"1.0","id":"x1","source":"/web","type":"t","Any_Name":1}"#.utf8)
    ])
    #expect(badExtension.first?.field == "Any_Name")
    // Query limits: prefixes (by count and bytes), subscriber names (by bytes, not characters).
    await #expect(throws: ProtocolError.self) {
      _ = try await client.fetch(
        FetchRequest(partition: 0, from: 1, max: 1, prefixes: (0..<65).map { "p\($0)." }))
    }
    do {
      _ = try await client.report(
        PositionReport(subscriber: String(repeating: "e\u{301}", count: 101), partition: 0, offset: 0))
      Issue.record("a 303-byte subscriber name was accepted")
    } catch let error as ProtocolError {
      #expect(error.field == "body.subscriber")
    }
    // A field deep inside a body is counted under the field the protocol names.
    let context = try Context()
    let raw = try await AsyncSocket(context, type: .dealer)
    try await raw.connect(bus.query)
    try await raw.send([
      Array("FETCH".utf8), Array("r1".utf8),
      Array(#"{"partition":0,"from":1,"max":1,"prefixes":["a",7]}"#.utf8),
    ])
    let refusal = try #require(try await raw.receive(timeout: .seconds(5)))
    #expect(refusal.count == 3 && refusal[0].string == "ERROR", "\(refusal.frames.map(\.string))")
    // The size gauges follow appends within a heartbeat, without waiting for retention's pass.
    #expect(
      try await eventually(within: .seconds(5)) {
        try await BusTestSupport.get(port, "/metrics").1.contains("\npasserelle_bus_journal_events 3.0\n")
      })
    let metrics = try await BusTestSupport.get(port, "/metrics")
    #expect(metrics.0 == 200)
    #expect(metrics.1.contains(#"passerelle_bus_bad_requests_total{socket="query",field="body.prefixes"} 2"#))
    #expect(
      metrics.1.contains(#"passerelle_bus_bad_requests_total{socket="query",field="body.subscriber"} 1"#))
    #expect(!metrics.1.contains("Index"), "no label per array index")
    #expect(metrics.1.contains("\npasserelle_bus_events_stored_total 3\n"))
    #expect(metrics.1.contains(#"passerelle_bus_events_rejected_total{field="id"} 1"#))
    #expect(metrics.1.contains(#"passerelle_bus_events_rejected_total{field="extension"} 1"#))
    #expect(!metrics.1.contains("Any_Name"))
    #expect(metrics.1.contains(#"passerelle_bus_bad_requests_total{socket="ingest",field="events"} 1"#))
    #expect(!metrics.1.contains("customer-"), "metrics carry no customer data")
    // A subscriber's lag follows the head after its last report: a stopped one's grows.
    let reported = try await client.publish(
      BusTestSupport.events(source: "/lag", count: 1, customers: 1).map { $0.encoded() })
    let partition = try #require(reported.first?.partition)
    let offset = try #require(reported.first?.offset)
    try await client.report(PositionReport(subscriber: "billing", partition: partition, offset: offset))
    _ = try await client.publish(
      BusTestSupport.events(source: "/lag", count: 5, customers: 1, prefix: "later").map { $0.encoded() })
    let gauge = #"passerelle_bus_subscriber_lag{subscriber="billing",partition="\#(partition)"} 5"#
    #expect(
      try await eventually(within: .seconds(10)) {
        let text = try await BusTestSupport.get(port, "/metrics").1
        return text.contains(gauge + ".0\n") || text.contains(gauge + "\n")
      }, "\(gauge)")
    #expect(await bus.terminate() == 0)
    #expect(bus.output.contains("\"msg\":\"bus drained\""))
    #expect(bus.output.contains("\"msg\":\"drained\""))
  }

  /// SIGTERM while three publishers are mid-stream: the bus drains and exits 0, and every event it
  /// acknowledged is in the journal when it restarts, once.
  @Test func aStopMidStreamKeepsEveryAcknowledgedEvent() async throws {
    let bus = try TestBus()
    try await bus.start()
    let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
      for publisher in 0..<3 {
        group.addTask {
          let client = try BusTestSupport.client(bus)
          let events = BusTestSupport.events(source: "/drain/\(publisher)", count: 20_000)
          var acked: [String] = []
          for start in stride(from: 0, to: events.count, by: 50) {
            let batch = events[start..<(start + 50)]
            guard let outcomes = try? await client.publish(batch.map { $0.encoded() }, timeout: .seconds(2))
            else { break }  // the bus has stopped
            #expect(outcomes.allSatisfy { $0.status == .stored })
            acked += batch.map { "\($0.source)#\($0.id)" }
          }
          return acked
        }
      }
      let client = try BusTestSupport.client(bus)
      #expect(
        try await eventually(within: .seconds(30)) { try await client.info().heads.reduce(0, +) >= 3_000 })
      #expect(await bus.terminate() == 0, "\(bus.output)")
      return try await group.reduce(into: [String]()) { $0 += $1 }
    }
    #expect(bus.output.contains(#""msg":"drained""#) && !bus.output.contains("cut short"))
    try await bus.start()
    let stored = try await BusTestSupport.readJournal(try BusTestSupport.client(bus))
    let storedIdentities = Set(stored.map { "\($0.source)#\($0.id)" })
    #expect(!acknowledged.isEmpty && acknowledged.count < 60_000, "stopped mid-stream")
    #expect(storedIdentities.isSuperset(of: acknowledged), "an acknowledged event is missing")
    #expect(storedIdentities.count == stored.count, "an event was stored twice")
    #expect(BusTestSupport.orderProblem(stored) == nil, "\(BusTestSupport.orderProblem(stored) ?? "")")
    #expect(await bus.terminate() == 0)
  }

  /// Attempts made while the bus is down are not queued for it: when it starts, it receives only
  /// the request being waited for, not a copy per earlier attempt (which would all be duplicates
  /// ahead of it).
  @Test func attemptsWhileTheBusIsDownAreNotQueuedForIt() async throws {
    let bus = try TestBus(transport: .tcp)
    let client = try BusTestSupport.client(bus)
    let events = BusTestSupport.events(source: "/down", count: 100).map { $0.encoded() }
    for _ in 0..<5 {
      await #expect(throws: (any Error).self) {
        _ = try await client.publish(events, timeout: .milliseconds(200))
      }
    }
    try await bus.start()
    let outcomes = try await client.publish(events, timeout: .seconds(10))
    #expect(outcomes.allSatisfy { $0.status == .stored })
    #expect(
      await eventually(within: .seconds(10)) {
        (try? await BusTestSupport.metric("passerelle_bus_events_stored_total", of: bus)) == 100
      })
    let duplicates = try await BusTestSupport.metric("passerelle_bus_events_duplicate_total", of: bus)
    #expect((duplicates ?? 0) == 0, "earlier attempts reached the bus: \(duplicates ?? 0) duplicates")
    #expect(await bus.terminate() == 0)
  }

  /// SIGTERM while the bus is still opening its journal (a "PostgreSQL" that accepts and never
  /// answers) ends it at once with status 0; it used to die of the signal (and, as PID 1 in a
  /// container, to ignore it until SIGKILL).
  @Test func aStopWhileOpeningTheJournalEndsTheBusAtOnce() async throws {
    let (listener, port) = try TestPaths.listeningSocket()
    defer { close(listener) }
    let directory = try TestPaths.temporaryDirectory("busopen")
    defer { try? FileManager.default.removeItem(at: directory) }
    let bus = try TestProcess(
      TestPaths.executable("passerelle-bus"), [],
      environment: [
        "PASSERELLE_BUS_DATABASE_URL": "postgres://bus@127.0.0.1:\(port)/journal",
        "PASSERELLE_HTTP_PORT": "0",
        "PASSERELLE_BUS_INGEST": "ipc://\(directory.path)/in",
        "PASSERELLE_BUS_LIVE": "ipc://\(directory.path)/live",
        "PASSERELLE_BUS_QUERY": "ipc://\(directory.path)/query",
      ])
    defer { bus.stop() }
    // Connecting: its connection waits in the listener's queue.
    let connecting = await eventually(within: .seconds(20)) {
      var pending = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
      return poll(&pending, 1, 0) > 0
    }
    #expect(connecting, "\(bus.outputText)")
    bus.signal(SIGTERM)
    #expect(await bus.waitForExit(timeout: .seconds(5)) == 0, "\(bus.outputText)")
    #expect(bus.outputText.contains("stopped while starting"))
  }

  static func runBus(_ environment: [String: String], _ arguments: [String] = []) async throws -> (
    Int32?, String
  ) {
    let directory = try TestPaths.temporaryDirectory("busbad")
    defer { try? FileManager.default.removeItem(at: directory) }
    let process = try TestProcess(
      TestPaths.executable("passerelle-bus"), arguments,
      environment: [
        "PASSERELLE_BUS_DATABASE_URL": "sqlite:\(directory.path)/j.db", "PASSERELLE_HTTP_PORT": "0",
      ]
      .merging(environment) { $1 })
    let status = await process.waitForExit(timeout: .seconds(20))
    process.stop()
    return (status, process.outputText)
  }

  @Test(arguments: [
    (["PASSERELLE_BUS_PARTITIONS": "abc"], "PASSERELLE_BUS_PARTITIONS=\"abc\": not a whole number in 1-9999"),
    (["PASSERELLE_HTTP_PORT": "70000"], "PASSERELLE_HTTP_PORT=\"70000\": not a port number"),
    (
      ["PASSERELLE_BUS_INGEST": "tcp://0.0.0.0:7401"],
      "PASSERELLE_BUS_INGEST=\"tcp://0.0.0.0:7401\": not a loopback"
    ),
    (
      ["PASSERELLE_BUS_SECRET_KEY": "short"],
      "PASSERELLE_BUS_SECRET_KEY=\"<redacted>\": not a 40-character Z85"
    ),
    (
      ["PASSERELLE_BUS_INGEST": "tcp://127.0.0.1"],
      "PASSERELLE_BUS_INGEST=\"tcp://127.0.0.1\": missing host or port"
    ),
    (
      ["PASSERELLE_BUS_DATABASE_URL": "sqlite:/dev/null/journal/bus.db"],
      "PASSERELLE_BUS_DATABASE_URL=\"sqlite:/dev/null/journal/bus.db\": cannot create the folder /dev/null/journal: Not a directory"
    ),
    (
      ["PASSERELLE_BUS_ALLOWED_KEYS": "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"],
      "PASSERELLE_BUS_SECRET_KEY=\"\": required when PASSERELLE_BUS_ALLOWED_KEYS is set"
    ),
  ])
  func badSettingExitsWithOneLineNamingIt(environment: [String: String], expected: String) async throws {
    let (status, output) = try await Self.runBus(environment)
    #expect(status != nil && status != 0)
    let lines = output.split(separator: "\n")
    #expect(lines.count == 1, "\(output)")
    #expect(output.contains("passerelle-bus: \(expected)"), "\(output)")
  }

  /// Addresses that cannot be listened on are bad settings too: exit 78, naming the setting.
  @Test func addressesThatCannotBeBoundAreStartUpErrorsNamingTheSetting() async throws {
    let (listener, port) = try TestPaths.listeningSocket()
    defer { close(listener) }
    let (httpStatus, httpOutput) = try await Self.runBus(["PASSERELLE_HTTP_PORT": "\(port)"])
    #expect(httpStatus == 78)
    #expect(
      httpOutput.contains(
        #"passerelle-bus: PASSERELLE_HTTP_PORT="\#(port)": cannot listen on it: Address already in use"#),
      "\(httpOutput)")

    let (liveStatus, liveOutput) = try await Self.runBus([
      "PASSERELLE_BUS_LIVE": "ipc:///nonexistent-passerelle-folder/live"
    ])
    #expect(liveStatus == 78)
    #expect(
      liveOutput.contains(
        #"passerelle-bus: PASSERELLE_BUS_LIVE="ipc:///nonexistent-passerelle-folder/live": cannot bind: No such file or directory"#
      ), "\(liveOutput)")
  }

  /// A drain the grace period cuts short says so, instead of "drained".
  @Test func aDrainCutShortIsLoggedAsSuch() async throws {
    let bus = try TestBus(environment: ["PASSERELLE_SHUTDOWN_GRACE_SECONDS": "0"])
    try await bus.start()
    _ = await bus.terminate()
    #expect(bus.output.contains("drain cut short"), "\(bus.output)")
    #expect(!bus.output.contains(#""msg":"drained""#))
  }

  @Test func helpListsEveryVariableWithItsDefault() async throws {
    let (status, output) = try await Self.runBus([:], ["--help"])
    #expect(status == 0)
    let text = output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    for variable in [
      "PASSERELLE_HTTP_HOST", "PASSERELLE_HTTP_PORT", "PASSERELLE_LOG_LEVEL", "PASSERELLE_LOG_FORMAT",
      "PASSERELLE_SHUTDOWN_GRACE_SECONDS", "PASSERELLE_PARENT_PID", "PASSERELLE_BUS_INGEST",
      "PASSERELLE_BUS_LIVE",
      "PASSERELLE_BUS_QUERY",
      "PASSERELLE_BUS_DATABASE_URL", "PASSERELLE_BUS_PARTITIONS", "PASSERELLE_BUS_RETENTION_HOURS",
      "PASSERELLE_BUS_RETENTION_BYTES", "PASSERELLE_BUS_LIVE_HWM", "PASSERELLE_BUS_SECRET_KEY",
      "PASSERELLE_BUS_ALLOWED_KEYS", "PASSERELLE_BUS_ALLOW_PLAIN_REMOTE",
    ] {
      #expect(text.contains("env: \(variable)"), "\(variable) missing from --help")
    }
    #expect(text.contains("default: 16"))
  }
}
