import CZeroMQ

#if canImport(Glibc)
  import Glibc
#endif

/// A libzmq call that failed, with the call's name and the errno it set.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The libzmq (or libc) function that failed, e.g. `zmq_bind`.
  public let call: String
  /// The errno value the call left behind.
  public let code: Int32
  /// Extra context: the endpoint, the option, the socket type.
  public let detail: String

  /// Creates an error from an explicit errno value.
  public init(call: String, code: Int32, detail: String = "") {
    self.call = call
    self.code = code
    self.detail = detail
  }

  /// Captures the calling thread's current libzmq errno.
  static func last(_ call: String, _ detail: String = "") -> ZMQError {
    ZMQError(call: call, code: czmq_errno(), detail: detail)
  }

  /// The symbolic errno name (`EAGAIN`, `ETERM`, `EADDRINUSE`, …).
  public var name: String { Self.errnoNames[code] ?? "E\(code)" }

  /// libzmq's own text for the errno.
  public var message: String { String(cString: zmq_strerror(code)) }

  /// True when the context was shut down under the call.
  public var isTerminated: Bool { code == ETERM }
  /// True when a non-blocking call would have blocked.
  public var wouldBlock: Bool { code == EAGAIN }

  public var description: String {
    let suffix = detail.isEmpty ? "" : " (\(detail))"
    return "\(call) failed: \(name): \(message)\(suffix)"
  }

  private static let errnoNames: [Int32: String] = [
    EAGAIN: "EAGAIN", EINTR: "EINTR", EINVAL: "EINVAL", EFAULT: "EFAULT", ENOMEM: "ENOMEM",
    ENODEV: "ENODEV", EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL",
    ECONNREFUSED: "ECONNREFUSED", EHOSTUNREACH: "EHOSTUNREACH", ENOENT: "ENOENT",
    EPROTONOSUPPORT: "EPROTONOSUPPORT", ENOTSOCK: "ENOTSOCK", EMSGSIZE: "EMSGSIZE",
    ENOTSUP: "ENOTSUP", EACCES: "EACCES", EMFILE: "EMFILE", ENOBUFS: "ENOBUFS",
    ENETDOWN: "ENETDOWN", ECONNABORTED: "ECONNABORTED", ECONNRESET: "ECONNRESET",
    ENOTCONN: "ENOTCONN", ETIMEDOUT: "ETIMEDOUT", ENETUNREACH: "ENETUNREACH",
    EBADF: "EBADF", EPIPE: "EPIPE",
    ETERM: "ETERM", EFSM: "EFSM", ENOCOMPATPROTO: "ENOCOMPATPROTO", EMTHREAD: "EMTHREAD",
  ]
}

/// Throws the thread's libzmq error when `result` is -1.
@inline(__always)
func check(_ result: Int32, _ call: String, _ detail: @autoclosure () -> String = "") throws(ZMQError) {
  if result == -1 { throw ZMQError.last(call, detail()) }
}
