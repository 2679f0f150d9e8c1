import PasserelleStorage

/// The tables a bus client keeps in its service's own database: outbox, checkpoints, dead letters, leases.
public enum BusClientSchema {
  /// Apply these with the service's own migrations (``Database/withDatabase(url:logger:migrations:_:)``).
  public static let migrations: [Migration] = [
    Migration(
      id: "bus-client-1",
      sqlite: """
        CREATE TABLE bus_outbox (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          event_id TEXT NOT NULL,
          body BLOB NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE bus_outbox_rejected (
          seq INTEGER PRIMARY KEY,
          event_id TEXT NOT NULL,
          body BLOB NOT NULL,
          field TEXT NOT NULL,
          reason TEXT NOT NULL,
          rejected_at INTEGER NOT NULL
        );
        CREATE TABLE bus_checkpoints (
          subscriber TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset INTEGER NOT NULL,
          PRIMARY KEY (subscriber, partition_no)
        );
        CREATE TABLE bus_dead_letters (
          subscriber TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset INTEGER NOT NULL,
          body BLOB NOT NULL,
          reason TEXT NOT NULL,
          failed_at INTEGER NOT NULL,
          PRIMARY KEY (subscriber, partition_no, event_offset)
        );
        CREATE TABLE bus_leases (
          subscriber TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          owner TEXT NOT NULL,
          expires_at INTEGER NOT NULL,
          PRIMARY KEY (subscriber, partition_no)
        );
        CREATE TABLE bus_members (
          subscriber TEXT NOT NULL,
          instance TEXT NOT NULL,
          expires_at INTEGER NOT NULL,
          PRIMARY KEY (subscriber, instance)
        );
        """,
      postgres: """
        CREATE TABLE bus_outbox (
          seq BIGSERIAL PRIMARY KEY,
          event_id TEXT NOT NULL,
          body BYTEA NOT NULL,
          created_at BIGINT NOT NULL
        );
        CREATE TABLE bus_outbox_rejected (
          seq BIGINT PRIMARY KEY,
          event_id TEXT NOT NULL,
          body BYTEA NOT NULL,
          field TEXT NOT NULL,
          reason TEXT NOT NULL,
          rejected_at BIGINT NOT NULL
        );
        CREATE TABLE bus_checkpoints (
          subscriber TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset BIGINT NOT NULL,
          PRIMARY KEY (subscriber, partition_no)
        );
        CREATE TABLE bus_dead_letters (
          subscriber TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset BIGINT NOT NULL,
          body BYTEA NOT NULL,
          reason TEXT NOT NULL,
          failed_at BIGINT NOT NULL,
          PRIMARY KEY (subscriber, partition_no, event_offset)
        );
        CREATE TABLE bus_leases (
          subscriber TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          owner TEXT NOT NULL,
          expires_at BIGINT NOT NULL,
          PRIMARY KEY (subscriber, partition_no)
        );
        CREATE TABLE bus_members (
          subscriber TEXT NOT NULL,
          instance TEXT NOT NULL,
          expires_at BIGINT NOT NULL,
          PRIMARY KEY (subscriber, instance)
        );
        """)
  ]
}
