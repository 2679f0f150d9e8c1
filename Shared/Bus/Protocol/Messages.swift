/// The bus's answer for one published event.
public struct PublishOutcome: Sendable, Hashable, Codable {
  /// What happened to the event.
  public enum Status: String, Sendable, Codable {
    /// Durable in the journal now.
    case stored
    /// Already in the journal (same `source` and `id`); ``position`` is where it was stored.
    case duplicate
    /// Not stored: the envelope is invalid (see ``field`` and ``reason``).
    case rejected
  }

  /// What happened.
  public let status: Status
  /// The partition, for stored and duplicate events.
  public let partition: Int?
  /// The offset, for stored and duplicate events.
  public let offset: Int64?
  /// The envelope field at fault, for rejected events.
  public let field: String?
  /// Why it was rejected.
  public let reason: String?

  /// A stored or duplicate outcome.
  public init(status: Status, position: EventPosition) {
    self.status = status
    self.partition = position.partition
    self.offset = position.offset
    self.field = nil
    self.reason = nil
  }

  /// A rejection naming the field and the reason.
  public init(rejectedField field: String, reason: String) {
    self.status = .rejected
    self.partition = nil
    self.offset = nil
    self.field = field
    self.reason = reason
  }

  /// Where the event is, when it is in the journal.
  public var position: EventPosition? {
    guard let partition, let offset else { return nil }
    return EventPosition(partition: partition, offset: offset)
  }
}

/// A request for the events of one partition from an offset on.
public struct FetchRequest: Sendable, Hashable, Codable {
  /// The partition to read.
  public let partition: Int
  /// The first offset wanted.
  public let from: Int64
  /// The most events to return (the bus caps it at 1,000).
  public let max: Int
  /// Only events whose type starts with one of these, compared as UTF-8 bytes; empty or absent
  /// means every event. At most 64, each at most 255 bytes.
  public let prefixes: [String]?

  /// Creates a fetch request.
  public init(partition: Int, from: Int64, max: Int, prefixes: [String]? = nil) {
    self.partition = partition
    self.from = from
    self.max = max
    self.prefixes = prefixes
  }
}

/// The first body frame of an ``Command/events`` reply.
public struct FetchHeader: Sendable, Hashable, Codable {
  /// The partition read.
  public let partition: Int
  /// The offset of each event frame that follows, in order.
  public let offsets: [Int64]
  /// Where to continue: one past the last offset scanned (matching or not).
  public let next: Int64
  /// The partition's last stored offset (0 when empty).
  public let head: Int64
  /// The lowest offset still retained (retention removed everything below it).
  public let low: Int64

  /// Creates a header.
  public init(partition: Int, offsets: [Int64], next: Int64, head: Int64, low: Int64) {
    self.partition = partition
    self.offsets = offsets
    self.next = next
    self.head = head
    self.low = low
  }
}

/// The journal's shape, from ``Command/info``.
public struct JournalInfo: Sendable, Hashable, Codable {
  /// How many partitions.
  public let partitions: Int
  /// Each partition's last stored offset (0 when empty), by partition.
  public let heads: [Int64]

  /// Creates a description.
  public init(partitions: Int, heads: [Int64]) {
    self.partitions = partitions
    self.heads = heads
  }
}

/// A subscriber's report of the last offset it applied in a partition.
public struct PositionReport: Sendable, Hashable, Codable {
  /// The subscriber's name (one per service, shared by its instances).
  public let subscriber: String
  /// The partition.
  public let partition: Int
  /// The last applied offset.
  public let offset: Int64

  /// Creates a report.
  public init(subscriber: String, partition: Int, offset: Int64) {
    self.subscriber = subscriber
    self.partition = partition
    self.offset = offset
  }
}

/// Every reporting subscriber's lag, from ``Command/lag``.
public struct LagReport: Sendable, Hashable, Codable {
  /// One subscriber in one partition.
  public struct Entry: Sendable, Hashable, Codable {
    /// The subscriber's name.
    public let subscriber: String
    /// The partition.
    public let partition: Int
    /// The last offset it reported applied.
    public let offset: Int64
    /// The partition's head minus ``offset``.
    public let lag: Int64

    /// Creates an entry.
    public init(subscriber: String, partition: Int, offset: Int64, lag: Int64) {
      self.subscriber = subscriber
      self.partition = partition
      self.offset = offset
      self.lag = lag
    }
  }

  /// Each partition's head offset.
  public let heads: [Int64]
  /// One entry per subscriber and partition, sorted.
  public let entries: [Entry]

  /// Creates a report.
  public init(heads: [Int64], entries: [Entry]) {
    self.heads = heads
    self.entries = entries
  }
}

/// Why a request was refused.
public struct ProtocolError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
  /// The frame or field at fault (`command`, `events`, `body.partition`, `journal`, …).
  public let field: String
  /// What is wrong with it.
  public let reason: String

  /// Creates an error.
  public init(field: String, reason: String) {
    self.field = field
    self.reason = reason
  }

  public var description: String { "\(field): \(reason)" }
}
