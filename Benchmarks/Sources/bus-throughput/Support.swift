import Foundation
import PasserelleEvents
import RawZMQ
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - Clock, arguments, output

/// CLOCK_MONOTONIC in nanoseconds: the clock of every driver (Swift, C and Python's
/// `time.monotonic_ns()`), so timestamps compare across processes.
@inline(__always) func nowNanos() -> Int64 { bench_monotonic_ns() }

/// Sleeps until `due` (monotonic nanoseconds); returns at once when late.
func sleep(untilNanos due: Int64) async throws {
  let left = due - nowNanos()
  if left > 0 { try await Task.sleep(nanoseconds: UInt64(left)) }
}

func argument(_ name: String) -> String? {
  let arguments = CommandLine.arguments
  guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
  return arguments[index + 1]
}

func intList(_ name: String, _ fallback: [Int]) -> [Int] {
  argument(name)?.split(separator: ",").compactMap { Int($0) } ?? fallback
}

func log(_ text: String) {
  FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
}

/// The text of a NUL-terminated C error buffer.
func cString(_ buffer: [CChar]) -> String {
  String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

struct BenchmarkFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// Runs `body`, cancelling it after `seconds`: every wait in the benchmark is bounded.
func withTimeout<T: Sendable>(
  _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
  try await withThrowingTaskGroup(of: T?.self) { group in
    group.addTask { try await body() }
    group.addTask {
      try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
      return nil
    }
    defer { group.cancelAll() }
    guard let first = try await group.next(), let value = first else {
      throw BenchmarkFailure("\(what): no result within \(seconds) s")
    }
    return value
  }
}

// MARK: - Shared timestamp tables

/// A fixed array of Int64 written by one task per slot and read after the writers finish
/// (publish happens-before delivery through the sockets, and the reader joins every task first).
final class Int64Table: @unchecked Sendable {
  let count: Int
  let base: UnsafeMutablePointer<Int64>

  init(count: Int) {
    self.count = count
    base = .allocate(capacity: max(1, count))
    base.initialize(repeating: 0, count: max(1, count))
  }

  deinit { base.deallocate() }

  subscript(index: Int) -> Int64 {
    get { base[index] }
    set { base[index] = newValue }
  }
}

/// Per-subscriber progress during a throughput run.
final class Progress: Sendable {
  let received = Atomic<Int>(0)
  let lastReceive = Atomic<Int64>(0)
}

final class Counter: Sendable {
  let value = Atomic<Int>(0)
  func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

// MARK: - Statistics

struct Percentiles: Sendable {
  var p50: Double
  var p99: Double
  var p999: Double
  var max: Double

  /// Nearest-rank percentiles of nanosecond samples, in milliseconds.
  init(nanoseconds samples: [Int64]) {
    let sorted = samples.sorted()
    func rank(_ q: Double) -> Double {
      guard !sorted.isEmpty else { return .nan }
      let index = Swift.min(sorted.count - 1, Swift.max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
      return Double(sorted[index]) / 1e6
    }
    p50 = rank(0.5)
    p99 = rank(0.99)
    p999 = rank(0.999)
    max = rank(1.0)
  }

  init(p50: Double, p99: Double, p999: Double, max: Double) {
    self.p50 = p50
    self.p99 = p99
    self.p999 = p999
    self.max = max
  }
}

func median(_ values: [Double]) -> Double {
  let sorted = values.filter { !$0.isNaN }.sorted()
  guard !sorted.isEmpty else { return .nan }
  let middle = sorted.count / 2
  return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func thousands(_ rate: Double) -> String {
  guard rate.isFinite else { return "—" }
  if rate < 10_000 { return String(format: "%.1fk", rate / 1000) }
  let whole = Int((rate / 1000).rounded())
  var digits = String(whole)
  var grouped = ""
  while digits.count > 3 {
    grouped = "," + digits.suffix(3) + grouped
    digits.removeLast(3)
  }
  return digits + grouped + "k"
}

func ms(_ value: Double) -> String { value.isFinite ? String(format: "%.2f", value) : "—" }
func ratio(_ value: Double) -> String { value.isFinite ? String(format: "%.2f", value) : "—" }

// MARK: - Events

/// 500-byte (or `size`) CloudEvents with a 9-digit index in the id and the partition key, built by
/// patching digits into one encoded template (so building one costs a copy, not an encode).
struct EventTemplate: Sendable {
  static let placeholder = Array("QQQQQQQQQ".utf8)
  let bytes: [UInt8]
  let slots: [Int]
  let prefix: String

  init(prefix: String, size: Int) throws {
    func event(_ pad: Int) -> CloudEvent {
      CloudEvent(
        id: "\(prefix)-QQQQQQQQQ", source: "/bench/driver", type: "bench.event.v1",
        data: .object(["pad": .string(String(repeating: "x", count: pad))]), partitionKey: "c-QQQQQQQQQ")
    }
    let bare = event(0).encoded().count
    guard bare < size else { throw BenchmarkFailure("an event cannot be as small as \(size) B") }
    let bytes = event(size - bare).encoded()
    precondition(bytes.count == size)
    var slots: [Int] = []
    var index = 0
    while index + 9 <= bytes.count {
      if Array(bytes[index..<index + 9]) == Self.placeholder {
        slots.append(index)
        index += 9
      } else {
        index += 1
      }
    }
    precondition(slots.count == 2, "placeholder expected in id and partition key")
    self.bytes = bytes
    self.slots = slots
    self.prefix = prefix
    _ = try CloudEvent.decode(body(0))
  }

  func body(_ index: Int) -> [UInt8] {
    var body = bytes
    var value = index
    var digits = [UInt8](repeating: 0x30, count: 9)
    for position in stride(from: 8, through: 0, by: -1) {
      digits[position] = UInt8(0x30 + value % 10)
      value /= 10
    }
    for slot in slots {
      for offset in 0..<9 { body[slot + offset] = digits[offset] }
    }
    return body
  }
}

/// Finds `"id":"<prefix>-<9 digits>"` in an encoded event and returns the index, or nil for
/// another prefix (warm-up events).
func eventIndex(_ body: UnsafeRawBufferPointer, prefix: [UInt8]) -> Int? {
  let key = Array("\"id\":\"".utf8)
  let count = body.count
  guard count > key.count + prefix.count + 10 else { return nil }
  var start = 0
  search: while start + key.count <= count {
    for offset in 0..<key.count where body[start + offset] != key[offset] {
      start += 1
      continue search
    }
    var position = start + key.count
    guard position + prefix.count + 10 <= count else { return nil }
    for byte in prefix {
      if body[position] != byte { return nil }
      position += 1
    }
    guard body[position] == UInt8(ascii: "-") else { return nil }
    position += 1
    var value = 0
    for _ in 0..<9 {
      let digit = body[position]
      guard digit >= 0x30, digit <= 0x39 else { return nil }
      value = value * 10 + Int(digit - 0x30)
      position += 1
    }
    return value
  }
  return nil
}

// MARK: - Child processes and temporary files

/// Every child process and temporary directory of the run, so that an interrupt cleans up too.
enum Cleanup {
  static let state = Mutex<(pids: Set<Int32>, directories: Set<String>)>(([], []))

  static func track(pid: Int32) { state.withLock { _ = $0.pids.insert(pid) } }
  static func untrack(pid: Int32) { state.withLock { _ = $0.pids.remove(pid) } }
  static func track(directory: String) { state.withLock { _ = $0.directories.insert(directory) } }

  static func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
    state.withLock { _ = $0.directories.remove(path) }
  }

  /// Kills what is left (by pid, never by name) and removes the temporary directories.
  static func all() {
    let (pids, directories) = state.withLock { ($0.pids, $0.directories) }
    for pid in pids { kill(pid, SIGKILL) }
    for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
  }

  static func installSignalHandlers() {
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
      signal(signalNumber) { number in
        Cleanup.all()
        _exit(128 + number)
      }
    }
  }
}

func makeTemporaryDirectory(_ stem: String) throws -> String {
  var template = Array("/tmp/\(stem)-XXXXXX".utf8CString)
  guard let pointer = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
    throw BenchmarkFailure("mkdtemp failed: errno \(errno)")
  }
  let path = String(cString: pointer)
  Cleanup.track(directory: path)
  return path
}

/// Waits for a child process at most `seconds`; then SIGKILL.
func stop(_ process: Process, gracefully: Bool = true, seconds: Double = 5) {
  guard process.isRunning else {
    Cleanup.untrack(pid: process.processIdentifier)
    return
  }
  if gracefully { process.terminate() } else { kill(process.processIdentifier, SIGKILL) }
  let deadline = Date().addingTimeInterval(seconds)
  while process.isRunning && Date() < deadline { usleep(10_000) }
  if process.isRunning {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
  Cleanup.untrack(pid: process.processIdentifier)
}
