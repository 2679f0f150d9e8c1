import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import Synchronization

/// Retention: deleting the oldest segments by age and by size, with their identities.
extension Journal {
  /// Deletes events stored before `cutoff`, then the oldest events while over `maxBytes`, a
  /// segment at a time, with their identities.
  ///
  /// Returns how many events were removed. Offsets are never reused: heads stay where they are.
  public func prune(storedBefore cutoff: Date?, maxBytes: Int64?) async throws -> Int {
    var removed = 0
    if let cutoff {
      let millis = Int64(cutoff.timeIntervalSince1970 * 1000)
      for partition in 0..<partitioner.count {
        // A partition's segments are stored in offset order, so its expired ones come first.
        for _ in 0..<100_000 {
          let oldest = try await oldestSegments(partition: partition, limit: 64)
          let expired = Array(oldest.prefix { $0.storedAt < millis })
          guard !expired.isEmpty else { break }
          removed += try await delete(expired)
          guard expired.count == oldest.count else { break }
        }
      }
    }
    if let maxBytes {
      var bytes = size.bytes
      for _ in 0..<100_000 where bytes > maxBytes {
        // The oldest segments of all: each partition's oldest ones, merged by age. A segment's age
        // is the newest `stored_at` up to it in its partition, so that a clock stepped back cannot
        // rank a later segment before an earlier one: what goes is always a prefix of each
        // partition (what `pruned` below and the `low` of `FETCH` assume).
        var candidates: [(age: Int64, segment: StoredSegment)] = []
        for partition in 0..<partitioner.count {
          var age = Int64.min
          for segment in try await oldestSegments(partition: partition, limit: 64) {
            age = max(age, segment.storedAt)
            candidates.append((age, segment))
          }
        }
        candidates.sort {
          ($0.age, $0.segment.partition, $0.segment.firstOffset)
            < ($1.age, $1.segment.partition, $1.segment.firstOffset)
        }
        var chosen: [StoredSegment] = []
        for (_, segment) in candidates where bytes > maxBytes && chosen.count < 64 {
          chosen.append(segment)
          bytes -= segment.bytes
        }
        guard !chosen.isEmpty else { break }
        removed += try await delete(chosen)
      }
    }
    return removed
  }

  /// What retention needs to know of a stored segment.
  struct StoredSegment: Sendable {
    let partition: Int
    let firstOffset: Int64
    let lastOffset: Int64
    let storedAt: Int64
    let events: Int
    let bytes: Int64
    /// Its events' fingerprints and positions.
    let identities: [(fingerprint: UInt64, position: EventPosition)]

    /// Its events' `bus_fingerprints` rows.
    var fingerprints: [[SQLValue]] {
      identities.map {
        [
          .integer(Int64(bitPattern: $0.fingerprint)), .integer(Int64($0.position.partition)),
          .integer($0.position.offset),
        ]
      }
    }
  }

  /// The oldest `limit` segments of `partition`, in offset order.
  func oldestSegments(partition: Int, limit: Int) async throws -> [StoredSegment] {
    let rows = try await database.query(
      """
      SELECT first_offset, last_offset, stored_at, event_count, byte_count, directory FROM bus_segments
      WHERE partition_no = ? ORDER BY first_offset LIMIT \(limit)
      """, [.integer(Int64(partition))])
    return try rows.map { row in
      guard case .integer(let first) = row["first_offset"], case .integer(let last) = row["last_offset"],
        case .integer(let storedAt) = row["stored_at"],
        case .integer(let count) = row["event_count"], case .integer(let bytes) = row["byte_count"],
        case .blob(let directory) = row["directory"],
        let records = JournalSegment.records(directory: directory, bodyCount: Int(bytes))
      else { throw ProtocolError(field: "journal", reason: "damaged segment in partition \(partition)") }
      return StoredSegment(
        partition: partition, firstOffset: first, lastOffset: last, storedAt: storedAt, events: Int(count),
        bytes: bytes,
        identities: records.enumerated().map { index, record in
          (
            EventIdentity(source: record.source, id: record.id).fingerprint,
            EventPosition(partition: partition, offset: first + Int64(index))
          )
        })
    }
  }

  /// Deletes `segments` and their events' identities in one transaction, first recording the
  /// heads of their partitions (which their last segment may be taking with it); returns how
  /// many events they held.
  func delete(_ segments: [StoredSegment]) async throws -> Int {
    // The in-memory head, unless an append has committed and not yet moved it.
    var heads: [Int: Int64] = [:]
    let current = currentHeads
    for segment in segments {
      heads[segment.partition] = max(
        heads[segment.partition] ?? current[segment.partition], segment.lastOffset)
    }
    let recorded = heads.sorted { $0.key < $1.key }.map {
      [SQLValue.integer(Int64($0.key)), .integer($0.value)]
    }
    let removed: Int
    do {
      removed = try await deleteTransaction(segments, recordingHeads: recorded)
    } catch {
      // The delete may have committed without our hearing of it: count again.
      if let counted = try? await Self.storedTotals(in: database) { totals.withLock { $0 = counted } }
      throw error
    }
    // Only now that they are gone: marked before, a commit could end a generation without their
    // fingerprints, and a delete that then failed (or a crash) would leave events stored whose
    // identities neither `bus_fingerprints` nor the start's reading of segments would find.
    await withAppendingLock { pending in
      for segment in segments { pending.pruned(partition: segment.partition, through: segment.lastOffset) }
    }
    totals.withLock {
      $0.events -= Int64(removed)
      $0.bytes -= segments.reduce(0) { $0 + $1.bytes }
    }
    return removed
  }

  /// The transaction of ``delete(_:)``.
  func deleteTransaction(_ segments: [StoredSegment], recordingHeads recorded: [[SQLValue]])
    async throws -> Int
  {
    try await database.transaction { transaction in
      try await transaction.executeBatch(
        """
        INSERT INTO bus_partitions (partition_no, head) VALUES (?, ?)
        ON CONFLICT (partition_no) DO UPDATE SET head = excluded.head WHERE bus_partitions.head < excluded.head
        """, recorded)
      try await transaction.executeBatch(
        "DELETE FROM bus_fingerprints WHERE fingerprint = ? AND partition_no = ? AND event_offset = ?",
        segments.flatMap(\.fingerprints))
      try await transaction.executeBatch(
        "DELETE FROM bus_segments WHERE partition_no = ? AND first_offset = ?",
        segments.map { [.integer(Int64($0.partition)), .integer($0.firstOffset)] })
      return segments.reduce(0) { $0 + $1.events }
    }
  }

  /// Runs `body` with the lock every append holds while it writes. Taken on a Dispatch thread: an
  /// append holds it for a whole commit, which on PostgreSQL runs on the cooperative pool, so a
  /// task waiting for it there could take the last thread that commit needs.
  func withAppendingLock<T: Sendable>(_ body: @escaping @Sendable (inout PendingIdentities) -> T)
    async -> T
  {
    await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
      DispatchQueue.global().async { done.resume(returning: self.appending.withLock { body(&$0) }) }
    }
  }
}
