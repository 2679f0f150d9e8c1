import CZeroMQ

/// Readiness flags for ``Poller`` and ``Socket/pendingEvents()``.
public struct PollEvents: OptionSet, Sendable {
  public let rawValue: Int16
  public init(rawValue: Int16) { self.rawValue = rawValue }

  /// A message can be received without blocking.
  public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
  /// A message can be sent without blocking.
  public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
  /// An error condition on a plain file descriptor.
  public static let error = PollEvents(rawValue: Int16(ZMQ_POLLERR))
}

/// Waits on several sockets and plain file descriptors at once (`zmq_poll`).
///
/// Belongs, like its sockets, to one thread.
public struct Poller {
  private var items: [zmq_pollitem_t] = []
  private var sockets: [Socket?] = []

  /// Creates an empty poller.
  public init() {}

  /// Watches `socket` for `events`; returns the item's index in ``poll(timeoutMilliseconds:)``'s result.
  @discardableResult
  public mutating func add(_ socket: Socket, events: PollEvents) -> Int {
    items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: events.rawValue, revents: 0))
    sockets.append(socket)
    return items.count - 1
  }

  /// Watches a plain file descriptor (an eventfd, a pipe) for `events`.
  @discardableResult
  public mutating func add(fileDescriptor: Int32, events: PollEvents) -> Int {
    items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events.rawValue, revents: 0))
    sockets.append(nil)
    return items.count - 1
  }

  /// Changes the events watched for item `index`.
  public mutating func update(_ index: Int, events: PollEvents) {
    items[index].events = events.rawValue
  }

  /// Waits up to `timeoutMilliseconds` (-1: forever) and returns each item's ready events.
  public mutating func poll(timeoutMilliseconds: Int = -1) throws(ZMQError) -> [PollEvents] {
    let count = Int32(items.count)
    let result = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, count, timeoutMilliseconds) }
    if result == -1 {
      let error = ZMQError.last("zmq_poll")
      if error.code == EINTR { return items.map { _ in PollEvents() } }
      throw error
    }
    return items.map { PollEvents(rawValue: $0.revents) }
  }
}
