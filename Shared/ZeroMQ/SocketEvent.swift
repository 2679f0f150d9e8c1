import CZeroMQ

/// A socket lifecycle event from ``Socket/startMonitor(events:)``.
public struct SocketEvent: Sendable, Equatable {
  /// What happened.
  public let kind: Kind
  /// The event's value: a file descriptor, an errno, or a reconnect interval.
  public let value: UInt32
  /// The endpoint the event concerns.
  public let endpoint: String

  /// Kinds of socket events.
  public enum Kind: UInt16, Sendable, CaseIterable {
    case connected = 0x0001
    case connectDelayed = 0x0002
    case connectRetried = 0x0004
    case listening = 0x0008
    case bindFailed = 0x0010
    case accepted = 0x0020
    case acceptFailed = 0x0040
    case closed = 0x0080
    case closeFailed = 0x0100
    case disconnected = 0x0200
    case monitorStopped = 0x0400
    case handshakeFailedNoDetail = 0x0800
    case handshakeSucceeded = 0x1000
    case handshakeFailedProtocol = 0x2000
    case handshakeFailedAuth = 0x4000

    /// A set of event kinds to monitor.
    public struct Set: OptionSet, Sendable {
      public let rawValue: Int32
      public init(rawValue: Int32) { self.rawValue = rawValue }
      /// Every event.
      public static let all = Set(rawValue: ZMQ_EVENT_ALL)
      /// Only `kind`.
      public init(_ kinds: Kind...) { self.rawValue = kinds.reduce(0) { $0 | Int32($1.rawValue) } }
    }
  }

  /// Decodes a monitor message (6 bytes: event and value, native byte order; then the endpoint).
  ///
  /// Returns `nil` for a malformed or unknown event.
  public init?(message: Message) {
    guard message.count == 2, message[0].count == 6 else { return nil }
    let (event, value) = message[0].withUnsafeBytes {
      (
        $0.loadUnaligned(fromByteOffset: 0, as: UInt16.self),
        $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
      )
    }
    guard let kind = Kind(rawValue: event) else { return nil }
    self.kind = kind
    self.value = value
    self.endpoint = message[1].string
  }
}
