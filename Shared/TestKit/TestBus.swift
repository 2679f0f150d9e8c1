import Foundation
import Synchronization

/// A real `passerelle-bus` process for tests: ipc endpoints in a temp folder (or TCP on loopback),
/// restartable, killable.
///
/// Restarts reuse the same journal and endpoints, as a supervisor restarting a crashed bus would.
public final class TestBus: Sendable {
  /// How clients reach the bus.
  public enum Transport: Sendable {
    /// `ipc://` sockets in the bus's temp folder.
    case ipc
    /// `tcp://127.0.0.1` on three ports free when the bus is prepared.
    case tcp
  }

  /// The folder holding the sockets (and the SQLite journal when no URL is given).
  public let directory: URL
  /// The journal's database URL.
  public let databaseURL: String
  /// Ingest endpoint (ROUTER).
  public let ingest: String
  /// Live stream endpoint (XPUB).
  public let live: String
  /// Query endpoint (ROUTER).
  public let query: String
  private let extraEnvironment: [String: String]
  private let current = Mutex<TestProcess?>(nil)
  private let logs = Mutex("")

  /// Prepares a bus on `databaseURL` (default: SQLite in the temp folder); call ``start()``.
  public init(databaseURL: String? = nil, transport: Transport = .ipc, environment: [String: String] = [:])
    throws
  {
    directory = try TestPaths.temporaryDirectory("bus")
    self.databaseURL = databaseURL ?? "sqlite:\(directory.path)/journal.db"
    switch transport {
    case .ipc:
      ingest = "ipc://\(directory.path)/ingest"
      live = "ipc://\(directory.path)/live"
      query = "ipc://\(directory.path)/query"
    case .tcp:
      let ports = try TestPaths.freeTCPPorts(3)
      ingest = "tcp://127.0.0.1:\(ports[0])"
      live = "tcp://127.0.0.1:\(ports[1])"
      query = "tcp://127.0.0.1:\(ports[2])"
    }
    extraEnvironment = environment
  }

  deinit {
    kill()
    try? FileManager.default.removeItem(at: directory)
  }

  /// The variables a client process needs to reach this bus.
  public var clientEnvironment: [String: String] {
    ["PASSERELLE_BUS_INGEST": ingest, "PASSERELLE_BUS_LIVE": live, "PASSERELLE_BUS_QUERY": query]
  }

  /// Starts the bus and waits until it prints `line` (by default, once its sockets are bound).
  public func start(until line: String = "bus listening") async throws {
    let executable = TestPaths.executable("passerelle-bus")
    guard FileManager.default.isExecutableFile(atPath: executable) else {
      throw DeadlineExceeded(what: "\(executable) is missing: run `swift build` first", timeout: .zero)
    }
    let environment = clientEnvironment.merging(
      [
        "PASSERELLE_BUS_DATABASE_URL": databaseURL, "PASSERELLE_HTTP_PORT": "0",
        "PASSERELLE_LOG_LEVEL": "info",
        "PASSERELLE_SHUTDOWN_GRACE_SECONDS": "5",
      ]
    ) { $1 }.merging(extraEnvironment) { $1 }
    let process = try TestProcess(executable, [], environment: environment)
    current.withLock { $0 = process }
    guard await process.waitForOutput(line, timeout: .seconds(60)) else {
      let output = process.outputText
      process.stop()
      throw DeadlineExceeded(what: "passerelle-bus start (output: \(output))", timeout: .seconds(60))
    }
  }

  /// Kills the bus with SIGKILL, as a crash would, and keeps its output.
  public func kill() {
    current.withLock { process in
      guard let running = process else { return }
      running.stop()
      let output = running.outputText
      logs.withLock { $0 += output }
      process = nil
    }
  }

  /// Asks the bus to drain (SIGTERM) and returns its exit status, or `nil` if it did not exit in time.
  public func terminate(timeout: Duration = .seconds(20)) async -> Int32? {
    guard let process = current.withLock({ $0 }) else { return nil }
    process.signal(SIGTERM)
    let status = await process.waitForExit(timeout: timeout)
    kill()
    return status
  }

  /// Everything every run of the bus printed.
  public var output: String {
    logs.withLock { $0 } + (current.withLock { $0?.outputText } ?? "")
  }

  /// Waits until the running bus has printed `text`; `false` if it has not within `timeout`.
  public func waitForOutput(_ text: String, timeout: Duration) async -> Bool {
    guard let process = current.withLock({ $0 }) else { return false }
    return await process.waitForOutput(text, timeout: timeout)
  }

  /// Waits until the running bus exits by itself and returns its status (`nil` if it did not
  /// within `timeout`); its output is kept.
  public func waitForExit(timeout: Duration) async -> Int32? {
    guard let process = current.withLock({ $0 }) else { return nil }
    let status = await process.waitForExit(timeout: timeout)
    kill()
    return status
  }

  /// The HTTP port the running bus listens on (read from its start-up log).
  public func httpPort() -> Int? {
    guard let text = current.withLock({ $0?.outputText }),
      let range = text.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression)
    else { return nil }
    return Int(text[range].split(separator: ":").last ?? "")
  }
}
