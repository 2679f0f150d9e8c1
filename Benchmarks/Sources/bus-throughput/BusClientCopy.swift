import Foundation
import ZeroMQ

// A copy of the client side of the bus protocol (docs/PROTOCOL.md) as `Shared/Bus` implements it:
// `BusClient.publish(_:timeout:)` over `BusRequester.request(_:_:timeout:)` and
// `BusClient.liveSocket(prefixes:)`, line for line in what they do per request (an actor, one
// DEALER per client, a task group racing the reply against a timeout, one `JSONDecoder` per
// outcome frame, the same socket options).
//
// Why a copy: the `PasserelleBus` library depends on the storage and HTTP stack (GRDB,
// PostgresNIO, Hummingbird, swift-nio-ssl, …); linking it here would compile all of that a second
// time in this package's scratch path, which takes most of an hour on the 2 shared cores. The
// benchmark needs only the ZeroMQ layer and the event types. If `BusClient` changes, change this
// file with it (it is ~100 lines).

/// `PublishOutcome` as the bus encodes it.
struct Outcome: Decodable, Sendable {
  enum Status: String, Decodable, Sendable { case stored, duplicate, rejected }
  let status: Status
  let partition: Int?
  let offset: Int64?
  let field: String?
  let reason: String?
}

actor BenchBusClient {
  private let context: Context
  let endpoints: Endpoints
  private var ingest: Requester?
  private var query: Requester?

  struct Endpoints: Sendable {
    var ingest: String
    var live: String
    var query: String
  }

  init(endpoints: Endpoints) throws {
    context = try Context()
    self.endpoints = endpoints
  }

  /// As `BusClient.publish`: one PUBLISH request, every outcome decoded.
  func publish(_ bodies: [[UInt8]], timeout: Duration = .seconds(5)) async throws -> [Outcome] {
    if ingest == nil { ingest = try await Requester(context, endpoint: endpoints.ingest) }
    let (kind, frames) = try await ingest!.request("PUBLISH", bodies, timeout: timeout)
    guard kind == "ACK", frames.count == bodies.count else {
      throw BenchmarkFailure("expected ACK with \(bodies.count) outcomes, got \(kind)")
    }
    return try frames.map { frame in try frame.withUnsafeBytes { try JSONDecoder().decode(Outcome.self, from: Data($0)) } }
  }

  /// As `BusClient.info`: used to wait for the bus and to connect before a measurement.
  func info(timeout: Duration = .seconds(5)) async throws {
    if query == nil { query = try await Requester(context, endpoint: endpoints.query) }
    let (kind, _) = try await query!.request("INFO", [], timeout: timeout)
    guard kind == "INFO" else { throw BenchmarkFailure("expected INFO, got \(kind)") }
  }

  /// As `BusClient.liveSocket(prefixes:)`.
  func liveSocket(prefixes: [String]) async throws -> AsyncSocket {
    let endpoint = endpoints.live
    return try await AsyncSocket(context, type: .sub, readAhead: 4096) { socket in
      try socket.set(.receiveHighWaterMark(100_000))
      try socket.set(.reconnect(interval: 100, maximum: 2000))
      // As `BusClient` since the libzmq#3937 workaround: no ZMTP heartbeats on the live socket.
      for prefix in prefixes { try socket.set(.subscribe(Array(prefix.utf8))) }
      try socket.connect(endpoint)
    }
  }
}

/// As `BusRequester`: one request at a time on a DEALER, matched to its reply by id.
actor Requester {
  private let socket: AsyncSocket
  private var counter: UInt64 = 0
  private let prefix = UUID().uuidString.prefix(8)

  init(_ context: Context, endpoint: String) async throws {
    socket = try await AsyncSocket(context, type: .dealer) { socket in
      try socket.set(.reconnect(interval: 100, maximum: 2000))
      try socket.set(.heartbeat(interval: 1000, timeout: 3000, ttl: 3000))
      try socket.connect(endpoint)
    }
  }

  deinit { socket.close() }

  func request(_ command: String, _ body: [[UInt8]], timeout: Duration) async throws -> (String, ArraySlice<Frame>) {
    counter += 1
    let id = Array("\(prefix)-\(counter)".utf8)
    try await socket.send([Array(command.utf8), id] + body)
    let deadline = ContinuousClock.now + timeout
    while true {
      let remaining = deadline - ContinuousClock.now
      guard remaining > .zero, let reply = try await receive(within: remaining) else {
        throw BenchmarkFailure("no reply to \(command) in time")
      }
      guard reply.count >= 2, reply[1].bytes == id else { continue }
      let kind = reply[0].string
      if kind == "ERROR" { throw BenchmarkFailure("ERROR: \(reply.count > 2 ? reply[2].string : "")") }
      return (kind, reply.frames[2...])
    }
  }

  private func receive(within timeout: Duration) async throws -> Message? {
    let socket = self.socket
    return try await withThrowingTaskGroup(of: Message?.self) { group in
      group.addTask { try await socket.receive() }
      group.addTask {
        try await Task.sleep(for: timeout)
        return nil
      }
      defer { group.cancelAll() }
      return try await group.next() ?? nil
    }
  }
}
