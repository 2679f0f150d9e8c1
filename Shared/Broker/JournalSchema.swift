import PasserelleStorage

/// The journal's tables, the same on SQLite and PostgreSQL.
enum JournalSchema {
  static let migrations: [Migration] = [
    Migration(
      id: "bus-journal-1",
      sqlite: """
        CREATE TABLE bus_events (
          partition_no INTEGER NOT NULL,
          event_offset INTEGER NOT NULL,
          source TEXT NOT NULL,
          event_id TEXT NOT NULL,
          event_type TEXT NOT NULL,
          stored_at INTEGER NOT NULL,
          body BLOB NOT NULL,
          PRIMARY KEY (partition_no, event_offset)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX bus_events_identity ON bus_events (event_id, source);
        CREATE INDEX bus_events_age ON bus_events (stored_at);
        CREATE TABLE bus_partitions (partition_no INTEGER PRIMARY KEY, head INTEGER NOT NULL);
        CREATE TABLE bus_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE bus_subscriber_positions (
          subscriber TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (subscriber, partition_no)
        );
        """,
      postgres: """
        CREATE TABLE bus_events (
          partition_no INTEGER NOT NULL,
          event_offset BIGINT NOT NULL,
          source TEXT NOT NULL,
          event_id TEXT NOT NULL,
          event_type TEXT NOT NULL,
          stored_at BIGINT NOT NULL,
          body BYTEA NOT NULL,
          PRIMARY KEY (partition_no, event_offset)
        );
        CREATE UNIQUE INDEX bus_events_identity ON bus_events (event_id, source);
        CREATE INDEX bus_events_age ON bus_events (stored_at);
        CREATE TABLE bus_partitions (partition_no INTEGER PRIMARY KEY, head BIGINT NOT NULL);
        CREATE TABLE bus_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE bus_subscriber_positions (
          subscriber TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset BIGINT NOT NULL,
          updated_at BIGINT NOT NULL,
          PRIMARY KEY (subscriber, partition_no)
        );
        """
    )
  ]
}
