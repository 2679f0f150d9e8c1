import CZeroMQ

/// A libzmq context: the I/O threads and the registry of `inproc://` endpoints.
///
/// libzmq documents the context handle as thread-safe, so one context is shared by every socket
/// in a process. Sockets keep their context alive; the context is terminated when the last one
/// goes away. ``shutdown()`` makes every blocking call on its sockets fail with `ETERM` so their
/// owners close them: closing a context never hangs on a socket someone forgot.
public final class Context: Sendable {
  /// The libzmq handle; libzmq guarantees context handles are safe to use from any thread.
  nonisolated(unsafe) let handle: UnsafeMutableRawPointer

  /// Creates a context with `ioThreads` background I/O threads.
  public init(ioThreads: Int32 = 1) throws(ZMQError) {
    guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
    self.handle = handle
    try check(zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads), "zmq_ctx_set", "ZMQ_IO_THREADS")
    // Sockets default to linger 0: an unsent message never holds a closing process hostage.
    try check(zmq_ctx_set(handle, ZMQ_BLOCKY, 0), "zmq_ctx_set", "ZMQ_BLOCKY")
  }

  /// Makes every blocking operation on this context's sockets fail with `ETERM`.
  ///
  /// Idempotent. Async sockets close themselves when they see it.
  public func shutdown() {
    _ = zmq_ctx_shutdown(handle)
  }

  deinit {
    // Every socket holds a strong reference to its context, so none is open here.
    while zmq_ctx_term(handle) == -1 && czmq_errno() == EINTR {}
  }
}
