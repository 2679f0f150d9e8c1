import Foundation

/// A libzmq socket for async code: its own thread owns the socket, callers `await`.
///
/// Every libzmq call happens on one dedicated thread (libzmq sockets are not thread-safe), which
/// waits in `zmq_poll` on the socket and on an eventfd that callers use to wake it. The
/// cooperative thread pool never blocks: ``send(_:)`` and ``receive()`` suspend until the loop
/// thread has done the work. Received messages are read ahead into a bounded buffer; when it is
/// full the thread stops reading and libzmq's high-water mark pushes back on the peer.
public final class AsyncSocket: Sendable {
  /// The error waiting operations get after ``close()``.
  public struct Closed: Error, Sendable, CustomStringConvertible {
    /// Which socket was closed.
    public let label: String
    public var description: String { "socket \(label) is closed" }
  }

  /// The messaging pattern.
  public let type: SocketType
  private let loop: SocketLoop

  /// Opens a socket of `type` and runs `configure` on its thread (set options, bind, connect).
  ///
  /// - Parameters:
  ///   - readAhead: how many received messages may wait in memory for ``receive()``: past it
  ///     the socket stops reading (a read in progress may add up to 255 more) until half of them
  ///     have been taken, and the peers' high-water marks push back.
  ///   - configure: runs before any traffic; an error from it closes the socket and is rethrown.
  public init(
    _ context: Context, type: SocketType, readAhead: Int = 1024,
    configure: @escaping @Sendable (Socket) throws -> Void = { _ in }
  ) async throws {
    let loop = try SocketLoop(capacity: readAhead, label: "\(type)")
    self.type = type
    self.loop = loop
    try await withCheckedThrowingContinuation { (started: CheckedContinuation<Void, any Error>) in
      let thread = Thread {
        // Named from inside: on Linux, Foundation drops a name given before `start()`.
        Thread.current.name = "zmq-\(type)"
        let socket: Socket
        do {
          socket = try Socket(context, type: type)
          try configure(socket)
        } catch {
          loop.state.withLock { $0.finished = error }
          started.resume(throwing: error)
          return
        }
        started.resume()
        loop.run(socket)
      }
      thread.start()
    }
  }

  deinit {
    close()
  }

  /// Closes the socket: its thread stops, and pending operations fail with ``Closed``.
  ///
  /// Idempotent; returns at once.
  public func close() {
    loop.state.withLock { state in
      guard !state.closing else { return }
      state.closing = true
      loop.wakeLocked(&state)
    }
  }

  /// Closes the socket and returns once its thread has closed it in libzmq (at most `timeout`
  /// later): for an order that matters, such as CURVE server sockets before their ZAP handler.
  public func closeAndWait(timeout: Duration = .seconds(5)) async {
    close()
    let deadline = ContinuousClock.now + timeout
    while loop.state.withLock({ $0.finished == nil }), ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(1))
    }
  }

  /// Queues a multipart message and returns once libzmq has taken it.
  ///
  /// Waits (without blocking a thread) while the socket is at its high-water mark.
  public func send(_ frames: [[UInt8]]) async throws {
    try await send(batch: [frames])
  }

  /// Queues a multipart message and returns `true` once libzmq has taken it, or `false` at
  /// `deadline` if it has not: the message is then withdrawn, nothing of it sent.
  ///
  /// For sockets that hold messages while no peer can take them (a DEALER whose peer is down or
  /// refused it): the caller decides how long to wait instead of waiting without limit.
  public func send(_ frames: [[UInt8]], deadline: ContinuousClock.Instant) async throws -> Bool {
    do {
      try await withCheckedThrowingContinuation { continuation in
        if let failure = queue([frames], then: continuation, deadline: deadline) {
          continuation.resume(throwing: failure)
        }
      }
      return true
    } catch is SocketLoop.SendExpired {
      return false
    }
  }

  /// Queues several multipart messages, in order, and returns once libzmq has taken them all.
  ///
  /// One wake-up of the socket thread for the whole batch: the way to fan out many messages.
  public func send(batch messages: [[[UInt8]]]) async throws {
    guard !messages.isEmpty else { return }
    try await withCheckedThrowingContinuation { continuation in
      if let failure = queue(messages[...], then: continuation) { continuation.resume(throwing: failure) }
    }
  }

  /// Queues several multipart messages, in order, without waiting for libzmq to take them.
  ///
  /// For sockets whose sends never block (XPUB and ROUTER drop instead): the messages go out in
  /// the order of `enqueue` and `send` calls, and a send failure is not reported to anyone.
  /// - Throws: ``Closed`` (or the error that closed it) when the socket no longer sends.
  public func enqueue(batch messages: [[[UInt8]]]) throws {
    guard !messages.isEmpty else { return }
    if let failure = queue(messages[...], then: nil) { throw failure }
  }

  /// Returns once libzmq has taken every message sent or enqueued before this call.
  public func flush() async throws {
    try await withCheckedThrowingContinuation { continuation in
      if let failure = queue([], then: continuation) { continuation.resume(throwing: failure) }
    }
  }

  /// Hands `messages` to the socket's thread, which resumes `continuation` once libzmq took them
  /// (or, past `deadline`, withdraws them and resumes it with `SendExpired`); returns the error
  /// that closed the socket instead, if it is closed.
  private func queue(
    _ messages: ArraySlice<[[UInt8]]>, then continuation: CheckedContinuation<Void, any Error>?,
    deadline: ContinuousClock.Instant? = nil
  ) -> (any Error)? {
    loop.state.withLock { state in
      if let finished = state.finished { return finished }
      state.sends.append(.init(messages: messages, continuation: continuation, deadline: deadline))
      loop.wakeLocked(&state)
      return nil
    }
  }

  /// Receives the next message; cancelling the calling task ends the wait with `CancellationError`.
  public func receive() async throws -> Message {
    guard let message = try await receive(deadline: nil) else { throw Closed(label: loop.label) }
    return message
  }

  /// Receives the next message, or returns `nil` when none arrives within `timeout`.
  public func receive(timeout: Duration) async throws -> Message? {
    try await receive(deadline: .now + timeout)
  }

  private func receive(deadline: ContinuousClock.Instant?) async throws -> Message? {
    let id = loop.state.withLock { state in
      state.nextID += 1
      return state.nextID
    }
    let message = try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Message?, any Error>) in
        let outcome: Result<Message?, any Error>? = loop.state.withLock { state in
          if state.cancelledReceivers.remove(id) != nil { return .failure(CancellationError()) }
          if let message = takeBuffered(&state) { return .success(message) }
          if let finished = state.finished { return .failure(finished) }
          state.receivers.append(.init(id: id, deadline: deadline, continuation: continuation))
          // The loop thread must learn the new deadline to wake up in time for it.
          if deadline != nil { loop.wakeLocked(&state) }
          return nil
        }
        if let outcome { continuation.resume(with: outcome) }
      }
    } onCancel: {
      let receiver = loop.state.withLock { state in
        let receiver = state.receivers.remove { $0.id == id }
        if receiver == nil { state.cancelledReceivers.insert(id) }
        return receiver
      }
      receiver?.continuation.resume(throwing: CancellationError())
    }
    // The loop thread built the message, then released this lock before resuming us; taking the
    // lock once makes that ordering visible to ThreadSanitizer (the continuation already ensures it).
    loop.state.withLock { _ in }
    return message
  }

  /// Returns a message that has already arrived, or `nil` at once when none is waiting.
  ///
  /// For draining a burst after ``receive()`` returned: group commit takes everything queued.
  public func receiveIfAvailable() -> Message? {
    loop.state.withLock { takeBuffered(&$0) }
  }

  /// Pops a read-ahead message, waking the loop once the read-ahead has drained to half its
  /// capacity if it had stopped reading for lack of room. (Waking it at every message taken would
  /// let it read up to a batch more each time: the read-ahead would grow without bound behind a
  /// slow consumer, and the sender would never feel the high-water marks.)
  private func takeBuffered(_ state: inout SocketLoop.State) -> Message? {
    guard let message = state.buffered.popFirst() else { return nil }
    if state.readingPaused && state.buffered.count <= loop.capacity / 2 {
      state.readingPaused = false
      loop.wakeLocked(&state)
    }
    return message
  }

  /// Runs `body` with the socket on its own thread: read or set options, subscribe, bind.
  public func withSocket<T: Sendable>(_ body: @escaping @Sendable (Socket) throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
      let operation: SocketLoop.Operation = { socket in
        continuation.resume(with: Result { try body(socket.get()) })
      }
      let failure: (any Error)? = loop.state.withLock { state in
        if let finished = state.finished { return finished }
        state.operations.append(operation)
        loop.wakeLocked(&state)
        return nil
      }
      if let failure { continuation.resume(throwing: failure) }
    }
  }

  /// Binds to `endpoint` and returns the endpoint actually bound (wildcard ports resolved).
  @discardableResult
  public func bind(_ endpoint: String) async throws -> String {
    try await withSocket { socket in
      try socket.bind(endpoint)
      return try socket.lastEndpoint()
    }
  }

  /// Connects to `endpoint`.
  public func connect(_ endpoint: String) async throws {
    try await withSocket { try $0.connect(endpoint) }
  }

  /// Applies a socket option on the socket's thread.
  public func set(_ option: SocketOption) async throws {
    try await withSocket { try $0.set(option) }
  }

  /// The received messages as an async sequence; it ends when the socket closes or the task is cancelled.
  public var messages: Messages { Messages(socket: self) }

  /// An `AsyncSequence` of received messages.
  public struct Messages: AsyncSequence, Sendable {
    let socket: AsyncSocket

    /// Creates the iterator.
    public func makeAsyncIterator() -> Iterator { Iterator(socket: socket) }

    /// Receives one message per `next()`.
    public struct Iterator: AsyncIteratorProtocol {
      let socket: AsyncSocket

      /// The next message, or `nil` once the socket is closed or the task cancelled.
      public mutating func next() async throws -> Message? {
        do {
          return try await socket.receive()
        } catch is CancellationError {
          return nil
        } catch is Closed {
          return nil
        } catch let error as ZMQError where error.isTerminated {
          return nil
        }
      }
    }
  }
}
