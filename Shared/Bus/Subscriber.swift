import Foundation
import Logging
import PasserelleEvents
import PasserelleStorage
import ServiceLifecycle

/// Consumes the bus exactly once: each event's effect and its offset commit in one local transaction.
///
/// The subscriber listens to the live stream of the partitions it owns and checks every offset:
/// the next one is applied, an older one is a duplicate and skipped, a newer one means events were
/// missed (a slow subscriber whose queue overflowed, a restart) and they are fetched from the
/// journal first. The same fetch catches up from the checkpoint at start and after the bus's
/// periodic head announcement shows something was missed. A crash at any instant rolls the
/// transaction back with its checkpoint, so the event is applied again, once.
///
/// A handler that throws ``Rejection`` (or an `EventDecodingError`) sends the event to
/// `bus_dead_letters` with the reason, in the same transaction, and the stream goes on. Any other
/// error is retried with backoff, then dead-lettered, so one bad event never blocks a partition;
/// so is an event whose own transaction does not commit in three tries (a deferred constraint
/// checked at `COMMIT`). A lost database connection never dead-letters: the step is retried.
public struct Subscriber: Service {
  /// Which partitions this instance consumes.
  public enum Assignment: Sendable, Hashable {
    /// Every partition (one instance).
    case all
    /// A fixed set of partitions.
    case fixed(Set<Int>)
    /// A share of the partitions, through leases in the shared database (several instances).
    case leased(instance: String, ttl: Duration)
  }

  /// Where to start in a partition this subscriber has never read.
  public enum Start: Sendable, Hashable {
    /// From the oldest retained event.
    case earliest
    /// From the next event stored.
    case latest
    /// From this offset in every partition (an operator's replay).
    case offset(Int64)
  }

  /// How a subscriber runs.
  public struct Configuration: Sendable {
    /// The subscriber's name: one per service, shared by its instances; keys checkpoints and lag.
    public var name: String
    /// Only events whose type starts with one of these reach the handler; empty: all.
    public var prefixes: [String]
    /// Which partitions to consume.
    public var assignment: Assignment
    /// Where to start without a checkpoint.
    public var start: Start
    /// Events per fetch while catching up (at most 1000, what the bus returns; halved for a while
    /// after a fetch that timed out).
    public var fetchBatch: Int
    /// How often housekeeping runs: the lease heartbeat and rebalancing, the `INFO` check for
    /// partitions behind their head, checkpoints over skipped events, and position reports. (Leases
    /// are renewed apart from it, every quarter of their TTL.)
    public var housekeepingInterval: Duration
    /// Whether to report positions to the bus (for lag); off for throwaway readers such as `tail`.
    public var reportsPositions: Bool
    /// Live messages queued before this subscriber misses some (it then repairs them by replay).
    public var liveHighWaterMark: Int32

    /// Creates a configuration.
    public init(
      name: String, prefixes: [String] = [], assignment: Assignment = .all, start: Start = .earliest,
      fetchBatch: Int = 500, housekeepingInterval: Duration = .seconds(1), reportsPositions: Bool = true,
      liveHighWaterMark: Int32 = 100_000
    ) {
      self.liveHighWaterMark = liveHighWaterMark
      self.reportsPositions = reportsPositions
      self.name = name
      self.prefixes = prefixes
      self.assignment = assignment
      self.start = start
      self.fetchBatch = fetchBatch
      self.housekeepingInterval = housekeepingInterval
    }
  }

  /// An event handed to the handler, with where it is in the journal.
  public struct Delivery: Sendable {
    /// The event.
    public let event: CloudEvent
    /// Its partition and offset.
    public let position: EventPosition
  }

  /// Thrown by a handler to refuse an event for good: it is dead-lettered with `reason`.
  public struct Rejection: Error, Sendable {
    /// Why the event cannot be applied (the field and what is wrong with it).
    public let reason: String
    /// Creates a rejection.
    public init(_ reason: String) { self.reason = reason }
  }

  /// Thrown by a handler to end the subscriber normally; the event in hand is not applied.
  public struct Stop: Error, Sendable {
    /// Creates a stop request.
    public init() {}
  }

  /// Applies one event inside the subscriber's transaction.
  public typealias Handler = @Sendable (Delivery, any SQLTransaction) async throws -> Void

  let configuration: Configuration
  let database: any SQLDatabase
  let client: BusClient
  let logger: Logger
  let handler: Handler

  /// Creates a subscriber storing its checkpoints in `database` (migrated with ``BusClientSchema``).
  public init(
    configuration: Configuration, database: any SQLDatabase, client: BusClient, logger: Logger,
    handler: @escaping Handler
  ) {
    self.configuration = configuration
    self.database = database
    self.client = client
    self.logger = logger
    self.handler = handler
  }

  public func run() async throws {
    do {
      // Waits for the bus first; graceful shutdown meanwhile ends it as a `Stop` does.
      let session = try await SubscriberSession(subscriber: self)
      try await session.run()
    } catch is Stop {
      logger.debug("subscriber stopped", metadata: ["subscriber": "\(configuration.name)"])
    }
  }
}
