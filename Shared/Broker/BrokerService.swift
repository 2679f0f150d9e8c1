import Logging
import PasserelleStorage
import ServiceLifecycle

/// `passerelle-bus` as one service: becomes its journal's only writer, opens the journal, and runs
/// the ``Broker`` on it until shutdown.
///
/// A journal has one writer, because offsets are numbered in memory. A second bus started on the
/// same journal (a scaled-up deployment, a rollout that overlaps) therefore waits here, alive and
/// not ready, logging that it waits, and takes over once the first one has exited or died: it
/// never writes beside it. See ``SQLDatabase/exclusively(_:waiting:stopWaiting:_:)``.
public struct BrokerService: Service, CustomStringConvertible {
  let configuration: BrokerConfiguration
  let database: any SQLDatabase
  let logger: Logger
  let onReady: @Sendable () -> Void

  /// The lock a bus holds on its journal's database.
  public static let journalLock = "passerelle-bus"

  /// A bus on `database`; `onReady` runs once the journal is open and every socket is bound.
  public init(
    configuration: BrokerConfiguration, database: any SQLDatabase, logger: Logger,
    onReady: @escaping @Sendable () -> Void
  ) {
    self.configuration = configuration
    self.database = database
    self.logger = logger
    self.onReady = onReady
  }

  /// What swift-service-lifecycle logs for this service: its name (not its settings).
  public var description: String { "BrokerService" }

  public func run() async throws {
    let (configuration, logger, onReady) = (configuration, logger, onReady)
    _ = try await database.exclusively(
      Self.journalLock,
      waiting: {
        logger.warning(
          "another passerelle-bus is writing this journal; waiting to take over when it stops",
          metadata: ["lock": "\(Self.journalLock)"])
      },
      stopWaiting: { Task.isShuttingDownGracefully }
    ) { database in
      let journal = try await Journal(database: database, partitions: configuration.partitions)
      try await Broker(configuration: configuration, journal: journal, logger: logger, onReady: onReady).run()
    }
  }
}
