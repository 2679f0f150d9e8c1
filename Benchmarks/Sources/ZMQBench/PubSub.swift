import Dispatch
import Foundation
import RawZMQ
import Synchronization
import ZeroMQ

/// Where the PUB/SUB pair talks.
public enum Transport: String, CaseIterable, Sendable {
  case ipc, tcp

  /// A fresh endpoint for one transfer: a new ipc path each time, a wildcard loopback port for tcp.
  public func endpoint() -> String {
    switch self {
    case .ipc: "ipc:///tmp/passerelle-bench-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
    case .tcp: "tcp://127.0.0.1:*"
    }
  }
}

/// Which implementation of the same transfer.
public enum Implementation: String, CaseIterable, Sendable {
  /// libzmq's C API called from C (`Sources/RawZMQ/raw.c`): the baseline.
  case raw
  /// `ZeroMQ.Socket`: one publisher thread and one subscriber thread, `send(_:)` / `receiveFrame()`.
  case socket
  /// `ZeroMQ.AsyncSocket`: one task awaiting `send(_:)` per message, one awaiting `receive()`.
  case async
}

/// One benchmark configuration.
public struct Configuration: Sendable, CustomStringConvertible {
  public var implementation: Implementation
  public var transport: Transport
  public var size: Int
  public var count: Int

  public init(implementation: Implementation, transport: Transport, size: Int, count: Int) {
    self.implementation = implementation
    self.transport = transport
    self.size = size
    self.count = count
  }

  public var description: String { "\(implementation) \(transport) \(size) B x \(count)" }
}

public struct BenchmarkFailure: Error, CustomStringConvertible {
  public let description: String
}

/// Runs one transfer and returns messages per second, from the first send to the last receive.
public func messagesPerSecond(_ configuration: Configuration) async throws -> Double {
  precondition(configuration.size > 1, "one-byte messages are the slow-joiner probes")
  let endpoint = configuration.transport.endpoint()
  // libzmq leaves an ipc socket file behind when the binding socket closes: remove it.
  defer { if endpoint.hasPrefix("ipc://") { unlink(String(endpoint.dropFirst("ipc://".count))) } }
  switch configuration.implementation {
  case .raw: return try rawPubSub(endpoint: endpoint, size: configuration.size, count: configuration.count)
  case .socket:
    return try socketPubSub(endpoint: endpoint, size: configuration.size, count: configuration.count)
  case .async:
    return try await asyncPubSub(endpoint: endpoint, size: configuration.size, count: configuration.count)
  }
}

// MARK: - Raw libzmq

func rawPubSub(endpoint: String, size: Int, count: Int) throws -> Double {
  var error = [CChar](repeating: 0, count: 256)
  let rate = raw_pubsub_msgs_per_sec(endpoint, size, count, &error, error.count)
  guard rate > 0 else {
    let text = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    throw BenchmarkFailure(description: "raw: " + text)
  }
  return rate
}

// MARK: - Sync Socket

/// Hands a socket to the one thread that uses it from then on. libzmq allows moving a socket
/// between threads behind a full memory barrier, which starting a thread provides.
private struct Handoff<Value>: @unchecked Sendable {
  let value: Value
}

/// Runs `body` on a new thread and returns a way to wait for it.
private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
  let done = DispatchSemaphore(value: 0)
  let thread = Thread {
    body()
    done.signal()
  }
  thread.name = name
  thread.start()
  return done
}

/// What the two threads of a sync transfer report.
private final class Shared: Sendable {
  let start = Mutex<ContinuousClock.Instant?>(nil)
  let end = Mutex<ContinuousClock.Instant?>(nil)
  let received = Atomic<Int>(0)
  let failure = Mutex<(any Error)?>(nil)
}

private final class Flag: Sendable {
  let value = Atomic<Bool>(false)
}

func socketPubSub(endpoint: String, size: Int, count: Int) throws -> Double {
  let context = try Context()
  let publisher = try Socket(context, type: .pub)
  let subscriber = try Socket(context, type: .sub)
  try publisher.set(.sendHighWaterMark(0))
  try subscriber.set(.receiveHighWaterMark(0))
  try subscriber.set(.subscribe([]))
  try publisher.bind(endpoint)
  try subscriber.connect(try publisher.lastEndpoint())

  // Slow joiner: publish one-byte probes until the subscription has reached the publisher.
  let deadline = ContinuousClock.now + .seconds(5)
  while true {
    try publisher.send([0] as [UInt8], dontWait: true)
    var poller = Poller()
    _ = poller.add(subscriber, events: .readable)
    if try poller.poll(timeoutMilliseconds: 1)[0].contains(.readable) { break }
    guard ContinuousClock.now < deadline else {
      throw BenchmarkFailure(description: "socket: subscription never took on \(endpoint)")
    }
  }

  let shared = Shared()

  let pub = Handoff(value: publisher)
  let sub = Handoff(value: subscriber)
  let subscriberDone = spawn("bench-sub") {
    let socket = sub.value
    var n = 0
    do {
      while n < count {
        guard let frame = try socket.receiveFrame() else { break }
        if frame.count == size { n += 1 }
      }
    } catch {
      shared.failure.withLock { $0 = error }
    }
    shared.end.withLock { $0 = .now }
    shared.received.store(n, ordering: .relaxed)
  }
  let publisherDone = spawn("bench-pub") {
    let socket = pub.value
    let payload = [UInt8](repeating: 0x5a, count: size)
    shared.start.withLock { $0 = .now }
    do {
      for _ in 0..<count { try socket.send(payload) }
    } catch {
      shared.failure.withLock { $0 = error }
    }
  }
  publisherDone.wait()
  subscriberDone.wait()

  if let error = shared.failure.withLock({ $0 }) { throw error }
  let n = shared.received.load(ordering: .relaxed)
  guard n == count else { throw BenchmarkFailure(description: "socket: received \(n) of \(count)") }
  let elapsed = shared.end.withLock { $0! } - shared.start.withLock { $0! }
  return Double(count) / elapsed.seconds
}

// MARK: - AsyncSocket

func asyncPubSub(endpoint: String, size: Int, count: Int) async throws -> Double {
  let context = try Context()
  let publisher = try await AsyncSocket(context, type: .pub) { socket in
    try socket.set(.sendHighWaterMark(0))
  }
  let bound = try await publisher.bind(endpoint)
  // readAhead above the message count would hide the hand-off cost; the default is what services use.
  let subscriber = try await AsyncSocket(context, type: .sub) { socket in
    try socket.set(.receiveHighWaterMark(0))
    try socket.set(.subscribe([]))
    try socket.connect(bound)
  }
  defer {
    publisher.close()
    subscriber.close()
  }

  let subscribed = Flag()
  let elapsed = try await withThrowingTaskGroup(of: ContinuousClock.Instant?.self) { group in
    // Subscriber: wait for the first probe (slow joiner), then count `count` data messages.
    group.addTask {
      let first = try await subscriber.receive()
      var n = first[0].count == size ? 1 : 0
      subscribed.value.store(true, ordering: .releasing)
      while n < count {
        let message = try await subscriber.receive()
        if message[0].count == size { n += 1 }
      }
      return .now
    }
    // Publisher: probes until the subscriber has seen one, then the transfer, one await per message.
    group.addTask {
      let deadline = ContinuousClock.now + .seconds(5)
      while !subscribed.value.load(ordering: .acquiring) {
        try await publisher.send([[0]])
        try await Task.sleep(for: .milliseconds(1))
        guard ContinuousClock.now < deadline else {
          throw BenchmarkFailure(description: "async: subscription never took on \(endpoint)")
        }
      }
      let frames = [[UInt8](repeating: 0x5a, count: size)]
      let start = ContinuousClock.now
      for _ in 0..<count { try await publisher.send(frames) }
      return start
    }
    var instants: [ContinuousClock.Instant] = []
    for try await instant in group { if let instant { instants.append(instant) } }
    return instants.max()! - instants.min()!
  }
  return Double(count) / elapsed.seconds
}

extension Duration {
  var seconds: Double {
    let (s, attoseconds) = components
    return Double(s) + Double(attoseconds) * 1e-18
  }
}
