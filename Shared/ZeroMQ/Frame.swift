import CZeroMQ
import Foundation

/// One received message part, holding libzmq's buffer without copying it.
///
/// Immutable once received; libzmq reference-counts shared message data atomically, so a frame
/// may be read from any thread.
public final class Frame: @unchecked Sendable {  // immutable after receipt; zmq_msg_t refcounts atomically
  /// The libzmq message, behind a pointer: no exclusivity checks on the receive path.
  let message: UnsafeMutablePointer<zmq_msg_t>

  init() {
    message = .allocate(capacity: 1)
    zmq_msg_init(message)
  }

  deinit {
    zmq_msg_close(message)
    message.deallocate()
  }

  /// Number of bytes in the frame.
  public var count: Int { zmq_msg_size(message) }

  /// Calls `body` with the frame's bytes, valid only during the call.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try body(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message)))
  }

  /// The bytes copied into an array.
  public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

  /// The bytes copied into `Data`.
  public var data: Data { withUnsafeBytes { Data($0) } }

  /// The bytes decoded as UTF-8 (invalid sequences repaired).
  public var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

extension Frame: ContiguousBytes {}
