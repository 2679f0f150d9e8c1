import Foundation
import ZeroMQ

/// Requests to a bus ROUTER socket (ingest or query), each matched to its reply by id.
///
/// Any number of tasks may have requests in flight on one requester: one reader at a time takes
/// the replies off the socket and hands each to the request with its id, whichever task receives
/// it (the bus answers in arrival order, but tasks do not wait in the order they sent). Replies to
/// requests that timed out are recognised by their id and dropped. libzmq reconnects by itself, so
/// a bus restart only costs the requests in flight, which the caller retries (publishing is
/// idempotent).
actor BusRequester {

  /// A request waiting for its reply.
  private struct Waiting {
    let deadline: ContinuousClock.Instant
    let continuation: CheckedContinuation<Message?, Never>
  }

  private let socket: AsyncSocket
  private let endpoint: String
  private var counter: UInt64 = 0
  private let prefix = UUID().uuidString.prefix(8)
  /// The requests sent and not yet answered, by id.
  private var waiting: [[UInt8]: Waiting] = [:]
  /// The ids of the requests in progress, from before they are sent until they return.
  private var outstanding: Set<[UInt8]> = []
  /// Replies that came before their request started waiting (its task had not yet come back to
  /// this actor after sending, while the reader ran for other requests).
  private var early: [[UInt8]: Message] = [:]
  /// Whether a task is taking replies off the socket for everyone.
  private var reading = false

  init(_ context: Context, endpoint: String, security: BusClientSecurity?) async throws {
    self.endpoint = endpoint
    socket = try await AsyncSocket(context, type: .dealer) { socket in
      if let security { try socket.set(security.socketOption) }
      try socket.set(.reconnect(interval: 100, maximum: 2000))
      try socket.set(.heartbeat(interval: 1000, timeout: 3000, ttl: 3000))
      // Queue only on a live connection: otherwise libzmq keeps a pipe for the bus while it is
      // down, every timed-out attempt leaves a copy in it, and all of them reach the bus when it
      // returns, ahead of the request being waited for.
      try socket.set(.immediate(true))
      try socket.connect(endpoint)
    }
  }

  deinit {
    socket.close()
  }

  /// Sends `[command, id, body…]` and returns the reply's frames after the id.
  ///
  /// - Throws: ``BusTimeout`` when no reply comes within `timeout`; ``ProtocolError`` for an `ERROR` reply.
  func request(_ command: Command, _ body: [[UInt8]], timeout: Duration) async throws -> (
    Command, ArraySlice<Frame>
  ) {
    counter += 1
    let id = Array("\(prefix)-\(counter)".utf8)
    let deadline = ContinuousClock.now + timeout
    outstanding.insert(id)
    defer {
      outstanding.remove(id)
      early[id] = nil
    }
    // A DEALER whose bus is not connected (for instance refused by CURVE) holds the message until
    // one is: it is withdrawn if libzmq has not taken it by the deadline.
    guard try await socket.send([Array(command.rawValue.utf8), id] + body, deadline: deadline) else {
      throw BusTimeout(endpoint: endpoint, command: command.rawValue)
    }
    guard let reply = await reply(to: id, deadline: deadline) else {
      try Task.checkCancellation()
      throw BusTimeout(endpoint: endpoint, command: command.rawValue)
    }
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

  /// Waits for the reply with `id`; `nil` once `deadline` has passed or the task is cancelled.
  private func reply(to id: [UInt8], deadline: ContinuousClock.Instant) async -> Message? {
    if let reply = early.removeValue(forKey: id) { return reply }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        guard !Task.isCancelled else { return continuation.resume(returning: nil) }
        waiting[id] = Waiting(deadline: deadline, continuation: continuation)
        if !reading {
          reading = true
          Task { await self.readReplies() }
        }
      }
    } onCancel: {
      Task { await self.give(nil, to: id) }
    }
  }

  /// Hands `message` (or `nil`) to the request with `id` if it waits, or keeps the message for it
  /// if it is still on its way to wait; a reply to a request that has given up is dropped.
  private func give(_ message: Message?, to id: [UInt8]) {
    if let request = waiting.removeValue(forKey: id) {
      request.continuation.resume(returning: message)
    } else if let message, outstanding.contains(id) {
      early[id] = message
    }
  }

  /// Takes replies off the socket while requests wait, giving each to its request and `nil` to
  /// those whose deadline has passed; ends when none waits.
  private func readReplies() async {
    while !waiting.isEmpty {
      let now = ContinuousClock.now
      for (id, request) in waiting where request.deadline <= now { give(nil, to: id) }
      guard let soonest = waiting.values.map(\.deadline).min() else { break }
      // At most 100 ms at a time: a request sent meanwhile may have a sooner deadline.
      do {
        if let reply = try await socket.receive(timeout: min(soonest - now, .milliseconds(100))),
          reply.count >= 2
        {
          give(reply, to: reply[1].bytes)
        }
      } catch {
        // The socket is closed: nothing more will come.
        for id in Array(waiting.keys) { give(nil, to: id) }
      }
    }
    reading = false
  }
}

/// The bus did not answer a request in time (it is down, unreachable, or refuses this client's
/// CURVE key): the request may be sent again.
public struct BusTimeout: Error, CustomStringConvertible {
  /// Where the request went.
  public let endpoint: String
  /// The request's command, e.g. `PUBLISH`.
  public let command: String
  public var description: String { "no reply to \(command) from \(endpoint) in time" }
}
