import Foundation
import PasserelleStorage

/// Shares a subscriber's partitions among its running instances through leases in the shared database.
///
/// Every heartbeat an instance renews its membership and its leases, counts the live members,
/// and moves toward its fair share (`ceil(partitions / members)`): it releases extras and claims
/// free or expired partitions. A killed instance's leases expire after `ttl`, and the survivors
/// claim them at their next heartbeat. Lease changes are only ever made between batches, and the
/// checkpoint update is fenced (see ``Subscriber``), so even a stale owner cannot apply twice.
struct PartitionLeases: Sendable {
  let database: any SQLDatabase
  let subscriber: String
  let instance: String
  let partitions: Int
  let ttl: Duration

  private var ttlMilliseconds: Int64 {
    ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
  }

  /// Extends this instance's membership and leases without changing which partitions it holds.
  ///
  /// Runs beside the processing loop, so a long batch never lets the leases lapse.
  func renew() async throws {
    let expires = Int64(Date().timeIntervalSince1970 * 1000) + ttlMilliseconds
    try await database.transaction { transaction in
      try await transaction.execute(
        "UPDATE bus_members SET expires_at = ? WHERE subscriber = ? AND instance = ?",
        [.integer(expires), .text(subscriber), .text(instance)])
      try await transaction.execute(
        "UPDATE bus_leases SET expires_at = ? WHERE subscriber = ? AND owner = ?",
        [.integer(expires), .text(subscriber), .text(instance)])
    }
  }

  /// Renews, rebalances and returns the partitions this instance owns now.
  func heartbeat() async throws -> Set<Int> {
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let expires = now + ttlMilliseconds
    let name = SQLValue.text(subscriber)
    let me = SQLValue.text(instance)
    return try await database.transaction { transaction in
      try await transaction.execute(
        """
        INSERT INTO bus_members (subscriber, instance, expires_at) VALUES (?, ?, ?)
        ON CONFLICT (subscriber, instance) DO UPDATE SET expires_at = excluded.expires_at
        """, [name, me, .integer(expires)])
      try await transaction.execute(
        "DELETE FROM bus_members WHERE subscriber = ? AND expires_at < ?", [name, .integer(now)])
      try await transaction.executeBatch(
        "INSERT INTO bus_leases (subscriber, partition_no, owner, expires_at) VALUES (?, ?, '', 0) ON CONFLICT (subscriber, partition_no) DO NOTHING",
        (0..<partitions).map { [name, .integer(Int64($0))] })
      let members = try await transaction.query(
        "SELECT COUNT(*) AS n FROM bus_members WHERE subscriber = ?", [name])
      let count: Int64 = if case .integer(let n)? = members.first?["n"] { max(n, 1) } else { 1 }
      let fairShare = (partitions + Int(count) - 1) / Int(count)

      try await transaction.execute(
        "UPDATE bus_leases SET expires_at = ? WHERE subscriber = ? AND owner = ?",
        [.integer(expires), name, me])
      var owned = try await transaction.query(
        "SELECT partition_no FROM bus_leases WHERE subscriber = ? AND owner = ? ORDER BY partition_no",
        [name, me]
      ).compactMap { row -> Int? in if case .integer(let p) = row["partition_no"] { Int(p) } else { nil } }

      if owned.count > fairShare {
        let extras = owned.suffix(owned.count - fairShare)
        try await transaction.executeBatch(
          "UPDATE bus_leases SET owner = '', expires_at = 0 WHERE subscriber = ? AND partition_no = ? AND owner = ?",
          extras.map { [name, .integer(Int64($0)), me] })
        owned.removeLast(extras.count)
      } else if owned.count < fairShare {
        let free = try await transaction.query(
          "SELECT partition_no FROM bus_leases WHERE subscriber = ? AND (owner = '' OR expires_at < ?) ORDER BY partition_no",
          [name, .integer(now)]
        ).compactMap { row -> Int? in if case .integer(let p) = row["partition_no"] { Int(p) } else { nil } }
        for partition in free.prefix(fairShare - owned.count) {
          let claimed = try await transaction.execute(
            """
            UPDATE bus_leases SET owner = ?, expires_at = ?
            WHERE subscriber = ? AND partition_no = ? AND (owner = '' OR expires_at < ?)
            """, [me, .integer(expires), name, .integer(Int64(partition)), .integer(now)])
          if claimed == 1 { owned.append(partition) }
        }
      }
      return Set(owned)
    }
  }

  /// Gives every lease of this instance back, on graceful shutdown.
  func releaseAll() async throws {
    try await database.execute(
      "UPDATE bus_leases SET owner = '', expires_at = 0 WHERE subscriber = ? AND owner = ?",
      [.text(subscriber), .text(instance)])
    try await database.execute(
      "DELETE FROM bus_members WHERE subscriber = ? AND instance = ?", [.text(subscriber), .text(instance)])
  }
}
