import Foundation
import ZeroMQ

/// One request at a time to a bus ROUTER socket (ingest or query), matched to its reply by id.
///
/// Replies to earlier requests that timed out are recognised by their id and dropped. libzmq
/// reconnects by itself, so a bus restart only costs the requests in flight, which the caller
/// retries (publishing is idempotent).
actor BusRequester {
  /// The bus did not answer in time.
  struct Timeout: Error, CustomStringConvertible {
    let endpoint: String
    let command: Command
    var description: String { "no reply to \(command.rawValue) from \(endpoint) in time" }
  }

  private let socket: AsyncSocket
  private let endpoint: String
  private var counter: UInt64 = 0
  private let prefix = UUID().uuidString.prefix(8)

  init(_ context: Context, endpoint: String, security: BusClientSecurity?) async throws {
    self.endpoint = endpoint
    socket = try await AsyncSocket(context, type: .dealer) { socket in
      if let security { try socket.set(security.socketOption) }
      try socket.set(.reconnect(interval: 100, maximum: 2000))
      try socket.set(.heartbeat(interval: 1000, timeout: 3000, ttl: 3000))
      try socket.connect(endpoint)
    }
  }

  deinit {
    socket.close()
  }

  /// Sends `[command, id, body…]` and returns the reply's frames after the id.
  ///
  /// - Throws: ``Timeout`` when no reply comes within `timeout`; ``ProtocolError`` for an `ERROR` reply.
  func request(_ command: Command, _ body: [[UInt8]], timeout: Duration) async throws -> (
    Command, ArraySlice<Frame>
  ) {
    counter += 1
    let id = Array("\(prefix)-\(counter)".utf8)
    let deadline = ContinuousClock.now + timeout
    // A DEALER whose bus is not connected (for instance refused by CURVE) holds the message until
    // one is: it is withdrawn if libzmq has not taken it by the deadline.
    guard try await socket.send([Array(command.rawValue.utf8), id] + body, deadline: deadline) else {
      throw Timeout(endpoint: endpoint, command: command)
    }
    while true {
      let remaining = deadline - ContinuousClock.now
      guard remaining > .zero, let reply = try await socket.receive(timeout: remaining) else {
        throw Timeout(endpoint: endpoint, command: command)
      }
      guard reply.count >= 2, reply[1].bytes == id else { continue }
      let kind = Command(rawValue: reply[0].string)
      if kind == .error {
        if reply.count >= 3,
          let error = try? WireJSON.decode(ProtocolError.self, from: reply[2], field: "error")
        {
          throw error
        }
        throw ProtocolError(field: "reply", reason: "ERROR without a body")
      }
      guard let kind else { throw ProtocolError(field: "reply", reason: "unknown reply \(reply[0].string)") }
      return (kind, reply.frames[2...])
    }
  }
}
