/// A multipart message as received: every part of one atomic ZeroMQ message.
public struct Message: Sendable {
  /// The parts, in order.
  public let frames: [Frame]

  /// Creates a message from received frames.
  public init(frames: [Frame]) {
    self.frames = frames
  }

  /// The number of parts.
  public var count: Int { frames.count }

  /// The part at `index`.
  public subscript(index: Int) -> Frame { frames[index] }
}
