import ArgumentParser
import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleRuntime
import PasserelleStorage

/// `passerelle archive`: copies the bus into a SQL database, exactly once, for analytics and audits.
struct ArchiveCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "archive",
    abstract: "Copy events from the bus into a SQL database (SQLite or PostgreSQL), exactly once.",
    discussion: """
      Each event becomes a row of `archived_events`, and `archived_counts` keeps a running count per \
      type; both change in the same transaction as the subscriber's checkpoint, so a crash at any \
      moment neither loses nor doubles a row. With --instance, several archivers sharing one \
      PostgreSQL database split the partitions between them through leases, and take over a \
      stopped one's partitions within seconds.
      """)

  @OptionGroup var bus: BusOptions
  @Option(help: "Where to archive: sqlite:PATH or postgres://user:pass@host:port/db.")
  var database: String = "data/passerelle-archive.db"
  @Option(help: "The subscriber name (checkpoints and leases are kept under it).") var name: String =
    "archive"
  @Option(name: .customLong("type"), help: "Only events whose type starts with this (repeatable).")
  var types: [String] = []
  @Option(help: "This instance's id: share the partitions with the other instances of the same name.")
  var instance: String?
  @Option(help: "Seconds before a silent instance's partitions are taken over.") var leaseSeconds: Int = 5

  func validate() throws {
    guard (1...200).contains(name.count) else { throw ValidationError("--name must be 1 to 200 characters") }
    guard leaseSeconds >= 1 else {
      throw ValidationError("--lease-seconds must be at least 1, got \(leaseSeconds)")
    }
  }

  func run() async throws {
    let logger = CommandSupport.bootstrapLogging()
    let client = try CommandSupport.client(bus)
    let assignment: Subscriber.Assignment =
      instance.map { .leased(instance: $0, ttl: .seconds(leaseSeconds)) } ?? .all
    let configuration = Subscriber.Configuration(name: name, prefixes: types, assignment: assignment)
    let instanceName = instance ?? ProcessInfo.processInfo.hostName
    let signals = StopSignals(logger: logger)
    try await Database.withDatabase(
      url: database, logger: logger, migrations: BusClientSchema.migrations + ArchiveSchema.migrations
    ) { database in
      let subscriber = Subscriber(
        configuration: configuration, database: database, client: client, logger: logger
      ) {
        delivery, transaction in
        try await ArchiveSchema.archive(delivery, by: instanceName, in: transaction)
      }
      try await signals.run([subscriber], logger: logger)
    }
  }
}

/// The archive's tables and the one write per event.
enum ArchiveSchema {
  static let migrations = [
    Migration(
      id: "archive-1",
      sqlite: """
        CREATE TABLE archived_events (
          source TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
          partition_no INTEGER NOT NULL, event_offset INTEGER NOT NULL, archived_by TEXT NOT NULL,
          body BLOB NOT NULL, archived_at INTEGER NOT NULL
        );
        CREATE TABLE archived_counts (event_type TEXT PRIMARY KEY, events INTEGER NOT NULL);
        """,
      postgres: """
        CREATE TABLE archived_events (
          source TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
          partition_no INTEGER NOT NULL, event_offset BIGINT NOT NULL, archived_by TEXT NOT NULL,
          body BYTEA NOT NULL, archived_at BIGINT NOT NULL
        );
        CREATE TABLE archived_counts (event_type TEXT PRIMARY KEY, events BIGINT NOT NULL);
        """)
  ]

  /// Archives one event. Deliberately not idempotent (a counter): exactly-once is the subscriber's job.
  static func archive(
    _ delivery: Subscriber.Delivery, by instance: String, in transaction: any SQLTransaction
  )
    async throws
  {
    let event = delivery.event
    try await transaction.execute(
      """
      INSERT INTO archived_events (source, event_id, event_type, partition_no, event_offset, archived_by, body, archived_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      """,
      [
        .text(event.source), .text(event.id), .text(event.type), .integer(Int64(delivery.position.partition)),
        .integer(delivery.position.offset), .text(instance), .blob(event.encoded()),
        .integer(Int64(Date().timeIntervalSince1970 * 1000)),
      ])
    try await transaction.execute(
      """
      INSERT INTO archived_counts (event_type, events) VALUES (?, 1)
      ON CONFLICT (event_type) DO UPDATE SET events = archived_counts.events + 1
      """, [.text(event.type)])
  }
}
