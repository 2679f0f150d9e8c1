import Foundation
import Synchronization

/// A child process started by a test: output captured, always reaped, killed if left running.
///
/// Tests start the real executables and real peers (Python, servers) with it. Every wait is
/// bounded, and ``stop()``/deinit kill the process so no test leaves one behind.
public final class TestProcess: Sendable {
  /// The process identifier, for `kill -9` tests.
  public let pid: Int32
  private let process: Mutex<Process?>
  private let captured = Captured()

  /// What the process's handlers record from Foundation's threads.
  private final class Captured: @unchecked Sendable {  // every field is only touched under `lock`
    private let lock = NSLock()
    private var bytes = Data()
    private var status: Int32?
    private var endedAt: ContinuousClock.Instant?
    private var outputClosed = false

    func append(_ chunk: Data) { lock.withLock { bytes.append(chunk) } }
    func closeOutput() { lock.withLock { outputClosed = true } }
    func finish(_ code: Int32) {
      lock.withLock {
        status = code
        endedAt = .now
      }
    }
    var output: Data { lock.withLock { bytes } }
    /// Whether the process has exited (its output may still be arriving).
    var ended: Bool { lock.withLock { status != nil } }
    /// The exit status once the process has exited and its output has been read to the end, so
    /// that what it wrote last is in ``output``; or a second after it exited, if a child of it
    /// still holds the pipe open.
    var exited: Int32? {
      lock.withLock {
        guard let status, let endedAt else { return nil }
        return outputClosed || ContinuousClock.now - endedAt > .seconds(1) ? status : nil
      }
    }
  }

  /// Starts `executable` with `arguments` and `environment` added to the test's own, less the
  /// test's `PASSERELLE_*` settings (a developer's keys or log format must not change what the
  /// tests start; `PASSERELLE_TEST_*` stay).
  public init(
    _ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
    currentDirectory: URL? = nil
  ) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.filter {
      !$0.key.hasPrefix("PASSERELLE_") || $0.key.hasPrefix("PASSERELLE_TEST_")
    }.merging(environment) { $1 }
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let captured = self.captured
    pipe.fileHandleForReading.readabilityHandler = { handle in
      let chunk = handle.availableData
      if chunk.isEmpty {  // end of file: every writer has closed the pipe
        handle.readabilityHandler = nil
        captured.closeOutput()
      } else {
        captured.append(chunk)
      }
    }
    process.terminationHandler = { finished in
      captured.finish(finished.terminationStatus)
    }
    try process.run()
    self.pid = process.processIdentifier
    self.process = Mutex(process)
  }

  deinit {
    stop()
  }

  /// Everything the process wrote to stdout and stderr so far.
  public var outputText: String { String(decoding: captured.output, as: UTF8.self) }

  /// The exit status once the process has ended.
  public var exitStatus: Int32? { captured.exited }

  /// True while the process runs.
  public var isRunning: Bool { exitStatus == nil }

  /// Sends `signal` (SIGTERM, SIGKILL, …).
  public func signal(_ signal: Int32) {
    if !captured.ended { kill(pid, signal) }  // never a reaped pid, which may have been reused
  }

  /// Waits up to `timeout` for the process to end; returns its status, or `nil` if it still runs.
  @discardableResult
  public func waitForExit(timeout: Duration) async -> Int32? {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if let status = exitStatus { return status }
      try? await Task.sleep(for: .milliseconds(20))
    }
    return exitStatus
  }

  /// Waits up to `timeout` until the output contains `text`.
  @discardableResult
  public func waitForOutput(_ text: String, timeout: Duration) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if outputText.contains(text) { return true }
      if !isRunning { return outputText.contains(text) }
      try? await Task.sleep(for: .milliseconds(20))
    }
    return false
  }

  /// Waits up to `timeout` for a complete output line starting with `prefix` and returns it.
  public func waitForLine(startingWith prefix: String, timeout: Duration) async -> String? {
    let deadline = ContinuousClock.now + timeout
    repeat {
      let text = outputText
      let complete = text.hasSuffix("\n") ? text[...] : text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
      if let line = complete.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
        return String(line)
      }
      try? await Task.sleep(for: .milliseconds(20))
    } while ContinuousClock.now < deadline && isRunning
    return nil
  }

  /// Kills the process (SIGKILL) if it still runs and reaps it.
  public func stop() {
    process.withLock { process in
      guard let running = process else { return }
      if running.isRunning {
        kill(pid, SIGKILL)
        running.waitUntilExit()
      }
      process = nil
    }
  }
}
