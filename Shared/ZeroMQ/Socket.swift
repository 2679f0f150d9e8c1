import CZeroMQ
import Foundation

/// A libzmq socket with synchronous operations.
///
/// Like the libzmq socket it wraps, a `Socket` is not thread-safe and is deliberately not
/// `Sendable`: it belongs to the thread that made it. Services use ``AsyncSocket``, which owns its
/// `Socket` on a dedicated thread and offers async/await. The socket is closed when released or
/// when ``close()`` is called.
public final class Socket {
  /// The context this socket belongs to; kept alive as long as the socket.
  public let context: Context
  /// The messaging pattern.
  public let type: SocketType
  let handle: UnsafeMutableRawPointer
  private var isClosed = false

  /// Creates a socket of `type` in `context`, with linger 0.
  public init(_ context: Context, type: SocketType) throws(ZMQError) {
    guard let handle = zmq_socket(context.handle, type.rawValue) else {
      throw ZMQError.last("zmq_socket", "\(type)")
    }
    self.context = context
    self.type = type
    self.handle = handle
  }

  deinit {
    close()
  }

  /// Closes the socket, dropping unsent messages. Idempotent.
  public func close() {
    guard !isClosed else { return }
    isClosed = true
    zmq_close(handle)
  }

  /// Binds to `endpoint` (`tcp://127.0.0.1:5555`, `tcp://127.0.0.1:*`, `ipc:///run/x.sock`, `inproc://x`).
  public func bind(_ endpoint: String) throws(ZMQError) {
    try check(zmq_bind(handle, endpoint), "zmq_bind", endpoint)
  }

  /// Connects to `endpoint`; libzmq reconnects by itself when the peer goes away.
  public func connect(_ endpoint: String) throws(ZMQError) {
    try check(zmq_connect(handle, endpoint), "zmq_connect", endpoint)
  }

  /// Stops listening on `endpoint`.
  public func unbind(_ endpoint: String) throws(ZMQError) {
    try check(zmq_unbind(handle, endpoint), "zmq_unbind", endpoint)
  }

  /// Disconnects from `endpoint`.
  public func disconnect(_ endpoint: String) throws(ZMQError) {
    try check(zmq_disconnect(handle, endpoint), "zmq_disconnect", endpoint)
  }

  /// The endpoint last bound, with any wildcard port resolved (`tcp://127.0.0.1:41234`).
  public func lastEndpoint() throws(ZMQError) -> String {
    var buffer = [CChar](repeating: 0, count: 1024)
    var size = buffer.count
    try check(
      zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size), "zmq_getsockopt", "ZMQ_LAST_ENDPOINT")
    return String(zeroTerminated: buffer)
  }

  // MARK: Sending

  /// Sends one part; `more` marks that further parts of the same message follow.
  ///
  /// Returns `false` instead of blocking when `dontWait` is set and the socket cannot take the
  /// part now (high-water mark reached, no peer).
  @discardableResult
  public func send(_ part: some ContiguousBytes, more: Bool = false, dontWait: Bool = false) throws(ZMQError)
    -> Bool
  {
    let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
    let result = part.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
    if result == -1 {
      let error = ZMQError.last("zmq_send", "\(type)")
      if error.wouldBlock && dontWait { return false }
      throw error
    }
    return true
  }

  /// Sends every part of `parts` as one atomic multipart message.
  ///
  /// With `dontWait`, returns `false` when the first part cannot be queued; libzmq guarantees the
  /// remaining parts of a started message are then accepted.
  @discardableResult
  public func send<Part: ContiguousBytes>(multipart parts: [Part], dontWait: Bool = false) throws(ZMQError)
    -> Bool
  {
    guard let last = parts.indices.last else { return true }
    for index in parts.indices {
      let sent = try send(parts[index], more: index != last, dontWait: dontWait && index == 0)
      if !sent { return false }
    }
    return true
  }

  // MARK: Receiving

  /// Receives one part, or `nil` when `dontWait` is set and nothing is waiting.
  public func receiveFrame(dontWait: Bool = false) throws(ZMQError) -> Frame? {
    let frame = Frame()
    if zmq_msg_recv(frame.message, handle, dontWait ? ZMQ_DONTWAIT : 0) == -1 {
      let error = ZMQError.last("zmq_msg_recv", "\(type)")
      if error.wouldBlock && dontWait { return nil }
      throw error
    }
    return frame
  }

  /// Receives every part of the next message, or `nil` when `dontWait` is set and none is waiting.
  public func receive(dontWait: Bool = false) throws(ZMQError) -> Message? {
    guard let first = try receiveFrame(dontWait: dontWait) else { return nil }
    var frames = [first]
    var current = first
    while zmq_msg_more(current.message) == 1 {
      // Parts of a started message have all arrived: this never blocks.
      guard let next = try receiveFrame() else { break }
      frames.append(next)
      current = next
    }
    return Message(frames: frames)
  }

  // MARK: Options

  /// Applies one socket option.
  public func set(_ option: SocketOption) throws(ZMQError) {
    for (name, value) in option.settings {
      let result: Int32
      switch value {
      case .int(let int):
        var int = int
        result = zmq_setsockopt(handle, name, &int, MemoryLayout<Int32>.size)
      case .int64(let int):
        var int = int
        result = zmq_setsockopt(handle, name, &int, MemoryLayout<Int64>.size)
      case .bytes(let bytes):
        result = bytes.withUnsafeBytes { zmq_setsockopt(handle, name, $0.baseAddress, $0.count) }
      }
      try check(result, "zmq_setsockopt", option.label)
    }
  }

  /// Reads an integer option (`ZMQ_EVENTS`, `ZMQ_RCVMORE`, `ZMQ_SNDHWM`, …).
  public func intOption(_ name: Int32) throws(ZMQError) -> Int32 {
    var value: Int32 = 0
    var size = MemoryLayout<Int32>.size
    try check(zmq_getsockopt(handle, name, &value, &size), "zmq_getsockopt", "option \(name)")
    return value
  }

  /// Which operations would not block right now.
  public func pendingEvents() throws(ZMQError) -> PollEvents {
    PollEvents(rawValue: Int16(try intOption(ZMQ_EVENTS)))
  }

  /// Starts publishing this socket's lifecycle events on an `inproc://` PAIR endpoint.
  ///
  /// Connect a ``SocketType/pair`` socket to the returned endpoint and decode each message with
  /// ``SocketEvent/init(message:)``.
  public func startMonitor(events: SocketEvent.Kind.Set = .all) throws(ZMQError) -> String {
    let endpoint = "inproc://passerelle.monitor.\(UInt(bitPattern: handle))"
    try check(zmq_socket_monitor(handle, endpoint, events.rawValue), "zmq_socket_monitor", endpoint)
    return endpoint
  }
}
