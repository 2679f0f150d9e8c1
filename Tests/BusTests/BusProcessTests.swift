import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleTestKit
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The runtime, through the real `passerelle-bus`: health, metrics, drain on SIGTERM, bad settings.
@Suite struct BusProcessTests {
  static func get(_ port: Int, _ path: String) async throws -> (Int, String) {
    let (data, response) = try await URLSession.shared.data(
      from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
  }

  @Test func healthMetricsAndGracefulDrain() async throws {
    let bus = try TestBus()
    try await bus.start()
    let port = try #require(
      await eventually(within: .seconds(10)) { bus.httpPort() != nil } ? bus.httpPort() : nil)
    let live = try await Self.get(port, "/health/live")
    #expect(live.0 == 200)
    #expect(try await eventually(within: .seconds(10)) { try await Self.get(port, "/health/ready").0 == 200 })
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
    let metrics = try await Self.get(port, "/metrics")
    #expect(metrics.0 == 200)
    #expect(metrics.1.contains("passerelle_bus_events_stored_total 3"))
    #expect(metrics.1.contains(#"passerelle_bus_events_rejected_total{field="id"} 1"#))
    #expect(metrics.1.contains(#"passerelle_bus_bad_requests_total{socket="ingest",field="events"} 1"#))
    #expect(!metrics.1.contains("customer-"), "metrics carry no customer data")
    #expect(await bus.terminate() == 0)
    #expect(bus.output.contains("\"msg\":\"bus drained\""))
    #expect(bus.output.contains("\"msg\":\"drained\""))
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
  ])
  func badSettingExitsWithOneLineNamingIt(environment: [String: String], expected: String) async throws {
    let (status, output) = try await Self.runBus(environment)
    #expect(status != nil && status != 0)
    let lines = output.split(separator: "\n")
    #expect(lines.count == 1, "\(output)")
    #expect(output.contains("passerelle-bus: \(expected)"), "\(output)")
  }

  @Test func helpListsEveryVariableWithItsDefault() async throws {
    let (status, output) = try await Self.runBus([:], ["--help"])
    #expect(status == 0)
    let text = output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    for variable in [
      "PASSERELLE_HTTP_HOST", "PASSERELLE_HTTP_PORT", "PASSERELLE_LOG_LEVEL", "PASSERELLE_LOG_FORMAT",
      "PASSERELLE_SHUTDOWN_GRACE_SECONDS", "PASSERELLE_BUS_INGEST", "PASSERELLE_BUS_LIVE",
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
