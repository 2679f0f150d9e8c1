import Foundation
import Synchronization
import ZeroMQ

/// The thread that owns the bus's ingest socket, and how the broker stops it and waits for it.
///
/// Ingest runs the way Redis serves its clients: one thread receives everything waiting, decodes
/// it, appends it to the journal (the SQLite transaction and its fsync run on this very thread),
/// acknowledges on the same socket and hands the stored events to the live socket. Nothing waits
/// for another thread on the way from a request to its `ACK`, and whatever arrives during a commit
/// is the next commit's batch (group commit).
final class IngestThread: Sendable {
  private enum State {
    case running(waiter: CheckedContinuation<Void, any Error>?)
    case ended(Result<Void, any Error>)
  }

  private let stopRequested = Atomic<Bool>(false)
  private let state = Mutex(State.running(waiter: nil))

  /// How long the thread waits for requests before it looks whether it should stop.
  static let stopCheckMilliseconds = 100

  /// Starts a thread that opens a ROUTER socket, runs `configure` on it, binds it to `endpoint`
  /// and then runs `serve` with it; returns once the socket is bound, or throws why it is not.
  static func start(
    _ context: Context, endpoint: String, configure: @escaping @Sendable (Socket) throws -> Void,
    serve: @escaping @Sendable (Socket, IngestThread) throws -> Void
  ) async throws -> IngestThread {
    let thread = IngestThread()
    try await withCheckedThrowingContinuation { (bound: CheckedContinuation<Void, any Error>) in
      let worker = Thread {
        // Named from inside: on Linux, Foundation drops a name given before `start()`.
        Thread.current.name = "bus-ingest"
        let socket: Socket
        do {
          socket = try Socket(context, type: .router)
          try configure(socket)
          try socket.bind(endpoint)
        } catch {
          bound.resume(throwing: error)
          return
        }
        bound.resume()
        let result = Result { try serve(socket, thread) }
        // The last batch's acknowledgements are queued: give them a moment to leave.
        try? socket.set(.linger(milliseconds: 1000))
        socket.close()
        thread.end(result)
      }
      worker.start()
    }
    return thread
  }

  /// Whether ``stop()`` was called: the thread finishes the batch in hand and returns.
  var isStopping: Bool { stopRequested.load(ordering: .relaxed) }

  /// Asks the thread to stop after the batch in hand; returns at once.
  func stop() {
    stopRequested.store(true, ordering: .relaxed)
  }

  /// Waits until the thread has ended; rethrows what ended it.
  func wait() async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
      let ended: Result<Void, any Error>? = state.withLock { state in
        switch state {
        case .ended(let result): return result
        case .running:
          state = .running(waiter: continuation)
          return nil
        }
      }
      if let ended { continuation.resume(with: ended) }
    }
  }

  private func end(_ result: Result<Void, any Error>) {
    let waiter: CheckedContinuation<Void, any Error>? = state.withLock { state in
      guard case .running(let waiter) = state else { return nil }
      state = .ended(result)
      return waiter
    }
    waiter?.resume(with: result)
  }
}
