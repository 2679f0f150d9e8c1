import PasserelleEvents

/// Maps an event to its partition from its customer key, so one customer's events stay in order.
///
/// The key is the CloudEvents `partitionkey`; without one, the `subject`, and without that the
/// event's `source` and `id` (such an event has no ordering guarantee with any other). The hash is
/// 64-bit FNV-1a over the key's UTF-8 bytes, reduced modulo the partition count: any language can
/// compute it (docs/PROTOCOL.md).
public struct Partitioner: Sendable, Hashable {
  /// How many partitions the journal has.
  public let count: Int

  /// Creates a partitioner for `count` partitions (1 ... 9999).
  public init(count: Int) {
    precondition((1...9999).contains(count), "partition count must be 1...9999")
    self.count = count
  }

  /// The key an event is partitioned by.
  public static func key(of event: CloudEvent) -> String {
    event.partitionKey ?? event.subject ?? "\(event.source)\u{0}\(event.id)"
  }

  /// The partition of `event`.
  public func partition(of event: CloudEvent) -> Int {
    partition(forKey: Self.key(of: event))
  }

  /// The partition of a partition key.
  public func partition(forKey key: String) -> Int {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in key.utf8 {
      hash ^= UInt64(byte)
      hash &*= 0x0000_0100_0000_01b3
    }
    return Int(hash % UInt64(count))
  }
}
