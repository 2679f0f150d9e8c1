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
    ),
    // Events in segments (one row per partition per commit, JournalSegment) and a narrow identity
    // table: the database does one row's work per commit and partition, and one index entry per
    // event. Events stored in the first format are moved by `Journal` when it opens.
    Migration(
      id: "bus-journal-2-segments",
      sqlite: """
        ALTER TABLE bus_events RENAME TO bus_events_legacy;
        DROP INDEX bus_events_age;
        CREATE TABLE bus_segments (
          partition_no INTEGER NOT NULL,
          first_offset INTEGER NOT NULL,
          last_offset INTEGER NOT NULL,
          stored_at INTEGER NOT NULL,
          event_count INTEGER NOT NULL,
          byte_count INTEGER NOT NULL,
          directory BLOB NOT NULL,
          bodies BLOB NOT NULL,
          PRIMARY KEY (partition_no, first_offset)
        );
        CREATE INDEX bus_segments_age ON bus_segments (stored_at);
        CREATE TABLE bus_identities (
          event_id TEXT NOT NULL,
          source TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset INTEGER NOT NULL,
          PRIMARY KEY (event_id, source)
        ) WITHOUT ROWID;
        """,
      postgres: """
        ALTER TABLE bus_events RENAME TO bus_events_legacy;
        DROP INDEX bus_events_age;
        CREATE TABLE bus_segments (
          partition_no INTEGER NOT NULL,
          first_offset BIGINT NOT NULL,
          last_offset BIGINT NOT NULL,
          stored_at BIGINT NOT NULL,
          event_count BIGINT NOT NULL,
          byte_count BIGINT NOT NULL,
          directory BYTEA NOT NULL,
          bodies BYTEA NOT NULL,
          PRIMARY KEY (partition_no, first_offset)
        );
        CREATE INDEX bus_segments_age ON bus_segments (stored_at);
        CREATE TABLE bus_identities (
          event_id TEXT NOT NULL,
          source TEXT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset BIGINT NOT NULL,
          PRIMARY KEY (event_id, source)
        );
        """
    ),
    // Appends stop writing the heads (`bus_partitions` now holds only those that retention could
    // not otherwise tell: a partition's head is the last segment's last offset, or this if greater),
    // and retention walks each partition's segments by offset instead of an index on their age:
    // two fewer B-tree pages written per commit.
    Migration(id: "bus-journal-3-lean-commits", sql: "DROP INDEX bus_segments_age;"),
    // Identities indexed by their 64-bit fingerprint (``EventIdentity/key``) instead of their
    // texts: a row of three integers instead of two texts and two integers, a quarter to a third
    // of the size, so a commit writes fewer index pages. A fingerprint found there is checked
    // against the event's directory in its segment. The identities of `bus_identities_legacy` are
    // moved by `Journal` when it opens.
    Migration(
      id: "bus-journal-4-fingerprints",
      sqlite: """
        ALTER TABLE bus_identities RENAME TO bus_identities_legacy;
        CREATE TABLE bus_fingerprints (
          fingerprint INTEGER NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset INTEGER NOT NULL,
          PRIMARY KEY (fingerprint, partition_no, event_offset)
        ) WITHOUT ROWID;
        """,
      postgres: """
        ALTER TABLE bus_identities RENAME TO bus_identities_legacy;
        CREATE TABLE bus_fingerprints (
          fingerprint BIGINT NOT NULL,
          partition_no INTEGER NOT NULL,
          event_offset BIGINT NOT NULL,
          PRIMARY KEY (fingerprint, partition_no, event_offset)
        );
        """
    ),
  ]
}
