/// The first frame of every live message: `"PPPP|type"`, the partition zero-padded to four digits.
///
/// libzmq filters subscriptions by prefix, so a subscriber gets one partition with `"0003|"`, one
/// type family in one partition with `"0003|pos."`, and the bus's per-partition heartbeat with
/// `"0003|~head"`.
public enum Topic {
  /// The type used for the per-partition heartbeat that carries the partition's head offset.
  public static let headMarker = "~head"

  /// Why the bus refuses `type` as an event's type, or `nil`: types starting with `~` are the
  /// bus's own (checked by byte: `hasPrefix` compares characters, and "~" with a combining mark
  /// is another one).
  public static func reservedTypeProblem(_ type: String) -> String? {
    type.utf8.first == UInt8(ascii: "~") ? "types starting with \"~\" are reserved for the bus" : nil
  }

  /// Whether `type` starts with one of `prefixes` (no prefixes: every type), compared by UTF-8
  /// bytes as libzmq matches live topics (`hasPrefix` compares characters): how `FETCH` and the
  /// ``Subscriber`` filter types alike.
  public static func type(_ type: String, matchesAnyOf prefixes: [String]) -> Bool {
    prefixes.isEmpty || prefixes.contains { type.utf8.starts(with: $0.utf8) }
  }

  /// The subscription prefix for everything in `partition`.
  public static func prefix(partition: Int) -> String {
    let digits = String(partition)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "|"
  }

  /// The topic of an event of `type` in `partition`.
  public static func topic(partition: Int, type: String) -> String {
    prefix(partition: partition) + type
  }

  /// Splits a topic into its partition and type.
  public static func parse(_ topic: some StringProtocol) -> (partition: Int, type: String)? {
    guard let bar = topic.firstIndex(of: "|"), let partition = Int(topic[..<bar]) else { return nil }
    return (partition, String(topic[topic.index(after: bar)...]))
  }
}
