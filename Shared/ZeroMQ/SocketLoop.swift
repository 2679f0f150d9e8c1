import CZeroMQ
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The state an ``AsyncSocket`` shares with the thread that owns its libzmq socket.
///
/// Callers only touch the `Mutex`-protected inbox and the wake-up eventfd; the socket itself lives
/// in ``run(_:)``'s frame on the loop thread and never leaves it.
final class SocketLoop: Sendable {
  /// Messages to send in order, and whom to tell once libzmq has taken the last one (`nil`: nobody).
  struct PendingSend {
    var messages: ArraySlice<[[UInt8]]>
    let continuation: CheckedContinuation<Void, any Error>?
    /// For a single message: when to withdraw it, untouched, if libzmq has not taken it by then.
    var deadline: ContinuousClock.Instant? = nil
  }

  /// What a send with a deadline gets when libzmq did not take its message in time.
  struct SendExpired: Error {}

  /// A caller waiting for a message; with a deadline it gets `nil` once the deadline passes.
  struct Receiver {
    let id: UInt64
    let deadline: ContinuousClock.Instant?
    let continuation: CheckedContinuation<Message?, any Error>
  }

  /// Work to run on the loop thread: given the socket, or the error that closed it.
  typealias Operation = @Sendable (Result<Socket, any Error>) -> Void

  struct State {
    var buffered = FIFO<Message>()
    var receivers = FIFO<Receiver>()
    var cancelledReceivers: Set<UInt64> = []
    var sends = FIFO<PendingSend>()
    var operations: [Operation] = []
    var closing = false
    var finished: (any Error)?
    var wakePending = false
    var readingPaused = false
    var nextID: UInt64 = 0
  }

  let state = Locked(State())
  let wakeFD: Int32
  let capacity: Int
  let label: String

  init(capacity: Int, label: String) throws(ZMQError) {
    let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
    guard fd >= 0 else { throw ZMQError(call: "eventfd", code: errno, detail: label) }
    self.wakeFD = fd
    self.capacity = max(1, capacity)
    self.label = label
  }

  deinit {
    Glibc.close(wakeFD)
  }

  /// Wakes the loop thread if a wake-up is not already on its way. Call with the lock held.
  func wakeLocked(_ state: inout State) {
    guard !state.wakePending else { return }
    state.wakePending = true
    var one: UInt64 = 1
    _ = write(wakeFD, &one, 8)
  }

  /// Serves the socket until ``AsyncSocket/close()`` or until its context is shut down.
  func run(_ socket: Socket) {
    var poller = Poller()
    let socketItem = poller.add(socket, events: [])
    let wakeItem = poller.add(fileDescriptor: wakeFD, events: .readable)
    var outgoing = FIFO<PendingSend>()
    var failure: any Error = AsyncSocket.Closed(label: label)

    loop: while true {
      let (operations, closing, canRead) = state.withLock { state in
        state.wakePending = false
        while let send = state.sends.popFirst() { outgoing.append(send) }
        let operations = state.operations
        state.operations = []
        return (operations, state.closing, !state.readingPaused)
      }
      for operation in operations { operation(.success(socket)) }
      if closing { break loop }

      do {
        sending: while var send = outgoing.first {
          while let frames = send.messages.first {
            guard try socket.send(multipart: frames, dontWait: true) else {
              outgoing.replaceFirst(send)
              expireSends(&outgoing)
              break sending
            }
            send.messages.removeFirst()
          }
          _ = outgoing.popFirst()
          send.continuation?.resume()
        }
      } catch {
        if let send = outgoing.popFirst() { send.continuation?.resume(throwing: error) }
        if error.isTerminated {
          failure = error
          break loop
        }
      }

      var drainedAll = true
      if canRead {
        var batch: [Message] = []
        do {
          while batch.count < 256, let message = try socket.receive(dontWait: true) { batch.append(message) }
          drainedAll = batch.count < 256
        } catch {
          if error.isTerminated {
            failure = error
            break loop
          }
        }
        if !batch.isEmpty { deliver(batch) }
      }
      if !drainedAll && state.withLock({ !$0.readingPaused }) { continue }

      var events: PollEvents = []
      let (paused, receiving) = state.withLock { ($0.readingPaused, $0.receivers.earliestDeadline) }
      let deadline = [receiving, outgoing.elements.compactMap(\.deadline).min()].compactMap { $0 }.min()
      if !paused { events.insert(.readable) }
      if !outgoing.isEmpty { events.insert(.writable) }
      poller.update(socketItem, events: events)
      do {
        let ready = try poller.poll(timeoutMilliseconds: Self.milliseconds(until: deadline))
        expireReceivers()
        if ready[wakeItem].contains(.readable) {
          var value: UInt64 = 0
          _ = read(wakeFD, &value, 8)
        }
      } catch {
        failure = error
        break loop
      }
    }

    socket.close()
    finish(failure, outgoing: outgoing)
  }

  /// Milliseconds until `deadline` for `zmq_poll` (rounded up), or -1 to wait without limit.
  static func milliseconds(until deadline: ContinuousClock.Instant?) -> Int {
    guard let deadline else { return -1 }
    let (seconds, attoseconds) = (deadline - .now).components
    return max(0, Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
  }

  /// Withdraws every waiting send whose deadline has passed (each is one message, not begun).
  private func expireSends(_ outgoing: inout FIFO<PendingSend>) {
    let now = ContinuousClock.now
    for send in outgoing.removeAll(where: { send in send.deadline.map { $0 <= now } ?? false }) {
      send.continuation?.resume(throwing: SendExpired())
    }
  }

  /// Gives `nil` to every receiver whose deadline has passed.
  private func expireReceivers() {
    let now = ContinuousClock.now
    let expired = state.withLock { state in
      state.receivers.removeAll { receiver in receiver.deadline.map { $0 <= now } ?? false }
    }
    for receiver in expired { receiver.continuation.resume(returning: nil) }
  }

  /// Hands received messages to waiting receivers first, then to the buffer.
  private func deliver(_ batch: [Message]) {
    var handoffs: [(Receiver, Message)] = []
    state.withLock { state in
      for message in batch {
        if let receiver = state.receivers.popFirst() {
          handoffs.append((receiver, message))
        } else {
          state.buffered.append(message)
        }
      }
      state.readingPaused = state.buffered.count >= capacity
    }
    for (receiver, message) in handoffs { receiver.continuation.resume(returning: message) }
  }

  /// Fails everything still waiting once the loop has ended.
  private func finish(_ failure: any Error, outgoing: FIFO<PendingSend>) {
    var outgoing = outgoing
    let (receivers, queued, operations) = state.withLock { state in
      state.finished = failure
      let taken = (state.receivers, state.sends, state.operations)
      state.receivers = FIFO()
      state.sends = FIFO()
      state.operations = []
      return taken
    }
    var waiting = receivers
    var sends = queued
    while let receiver = waiting.popFirst() { receiver.continuation.resume(throwing: failure) }
    while let send = outgoing.popFirst() { send.continuation?.resume(throwing: failure) }
    while let send = sends.popFirst() { send.continuation?.resume(throwing: failure) }
    for operation in operations { operation(.failure(failure)) }
  }
}

extension FIFO<SocketLoop.Receiver> {
  /// The soonest deadline among waiting receivers.
  var earliestDeadline: ContinuousClock.Instant? {
    elements.compactMap(\.deadline).min()
  }
}

extension Error {
  /// True for libzmq's `ETERM`: the context is shutting down.
  var isTerminated: Bool { (self as? ZMQError)?.isTerminated ?? false }
}
