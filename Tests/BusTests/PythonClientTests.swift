import Foundation
import PasserelleTestKit
import Testing

/// docs/PROTOCOL.md is complete enough to write a client from it alone: `Tests/Interop/bus_client.py`,
/// a Python client built on pyzmq and the doc only, publishes, subscribes and replays against the
/// real `passerelle-bus`.
@Suite struct PythonClientTests {
  @Test func pythonClientWrittenFromTheProtocolDocPublishesSubscribesAndReplays() async throws {
    let executable = TestPaths.executable("passerelle-bus")
    try #require(
      FileManager.default.isExecutableFile(atPath: executable),
      "\(executable) is missing: run `swift build --product passerelle-bus` first")
    let script = TestPaths.file("Tests/Interop/bus_client.py").path
    try #require(FileManager.default.fileExists(atPath: script), "\(script) is missing")

    let directory = try TestPaths.temporaryDirectory("pyc")
    defer { try? FileManager.default.removeItem(at: directory) }
    let ingest = "ipc://\(directory.path)/ingest.sock"
    let live = "ipc://\(directory.path)/live.sock"
    let query = "ipc://\(directory.path)/query.sock"
    let bus = try TestProcess(
      executable, [],
      environment: [
        "PASSERELLE_HTTP_PORT": "0", "PASSERELLE_BUS_DATABASE_URL": "sqlite:\(directory.path)/bus.db",
        "PASSERELLE_BUS_INGEST": ingest, "PASSERELLE_BUS_LIVE": live, "PASSERELLE_BUS_QUERY": query,
        "PASSERELLE_LOG_LEVEL": "info",
      ])
    defer { bus.stop() }
    let listening = await bus.waitForOutput("bus listening", timeout: .seconds(60))
    try #require(listening, "passerelle-bus did not start: \(bus.outputText)")

    // Drops every 10th live event on receipt, so the client's gap repair by FETCH runs too.
    let client = try TestProcess(
      TestPaths.python,
      [
        script, "--ingest", ingest, "--live", live, "--query", query, "run-check", "--count", "200",
        "--source",
        "python-test", "--drop-every", "10", "--timeout", "50",
      ])
    defer { client.stop() }
    let status = await client.waitForExit(timeout: .seconds(60))
    #expect(status == 0, "bus_client.py: \(client.outputText)\npasserelle-bus: \(bus.outputText)")
    #expect(client.outputText.contains("bus_client: OK 200 events"), "bus_client.py: \(client.outputText)")

    bus.signal(SIGTERM)
    let busStatus = await bus.waitForExit(timeout: .seconds(20))
    #expect(busStatus == 0, "passerelle-bus after SIGTERM: \(bus.outputText)")
  }
}
