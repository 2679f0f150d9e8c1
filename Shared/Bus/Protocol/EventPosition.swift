/// Where an event sits in the journal: its partition and its offset there.
///
/// Offsets start at 1 in every partition and grow by exactly 1 per stored event, so a reader
/// that has seen offset `n` knows the next one is `n + 1` and can tell a gap from a duplicate.
public struct EventPosition: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
  /// The partition, `0 ..< partitionCount`.
  public let partition: Int
  /// The offset within the partition, from 1.
  public let offset: Int64

  /// Creates a position.
  public init(partition: Int, offset: Int64) {
    self.partition = partition
    self.offset = offset
  }

  /// The wire form: `"partition:offset"` in ASCII decimal.
  public var description: String { "\(partition):\(offset)" }

  /// The wire form as bytes, as the live stream's second frame carries it.
  public var wire: [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(24)
    WireJSON.appendDecimal(Int64(partition), to: &bytes)
    bytes.append(UInt8(ascii: ":"))
    WireJSON.appendDecimal(offset, to: &bytes)
    return bytes
  }

  /// Parses the wire form `"partition:offset"`.
  public init?(wire: some StringProtocol) {
    let parts = wire.split(separator: ":")
    guard parts.count == 2, let partition = Int(parts[0]), let offset = Int64(parts[1]), partition >= 0 else {
      return nil
    }
    self.init(partition: partition, offset: offset)
  }

  public static func < (lhs: EventPosition, rhs: EventPosition) -> Bool {
    (lhs.partition, lhs.offset) < (rhs.partition, rhs.offset)
  }
}
