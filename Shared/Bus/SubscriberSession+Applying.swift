import Foundation
import Logging
import Metrics
import PasserelleEvents
import PasserelleStorage
import ServiceLifecycle
import ZeroMQ

/// Applying events: the handler and the checkpoint in one transaction, dead letters, and the
/// fallbacks for a batch that will not commit.
extension SubscriberSession {
  /// The checkpoint no longer holds what this instance last wrote: another instance moved it.
  struct CheckpointMoved: Error {}

  /// Applies `items` of one partition and moves its checkpoint to `through`, in one transaction.
  func apply(_ partition: Int, _ items: [(offset: Int64, body: [UInt8])], through last: Int64)
    async throws
  {
    guard let from = expected[partition], last >= from else { return }
    let prefixes = subscriber.configuration.prefixes
    var deliveries: [Subscriber.Delivery] = []
    var undecodable: [(offset: Int64, body: [UInt8], reason: String)] = []
    for item in items where item.offset >= from {
      do {
        let event = try CloudEvent.decode(item.body)
        if Topic.type(event.type, matchesAnyOf: prefixes) {
          deliveries.append(
            .init(event: event, position: EventPosition(partition: partition, offset: item.offset)))
        }
      } catch {
        undecodable.append((item.offset, item.body, error.description))
      }
    }
    if deliveries.isEmpty && undecodable.isEmpty && !prefixes.isEmpty {
      // Nothing for this subscriber: move on without a write; the checkpoint catches up later.
      expected[partition] = last + 1
      return
    }
    // First without savepoints (the common case); a failing batch is redone with one savepoint per
    // event, so a rejected event is dead-lettered alone; after three failures any error dead-letters.
    var attempt = 0
    while true {
      do {
        let dead = try await commit(
          partition, deliveries, undecodable, through: last, savepoints: attempt > 0,
          isolateFailures: attempt >= 3)
        applied.increment(by: deliveries.count - dead)
        break
      } catch let stop as Subscriber.Stop {
        throw stop
      } catch is CheckpointMoved {
        try await checkpointMoved(partition)
        return
      } catch is Subscriber.Rejection where attempt == 0 {
        attempt = 1
      } catch is EventDecodingError where attempt == 0 {
        attempt = 1
      } catch {
        attempt += 1
        guard attempt <= 3 else {
          // Every handler error is dead-lettered by now, so the transaction itself does not
          // commit (a deferred constraint, a serialization failure): one event per transaction
          // finds the event at fault.
          logger.warning(
            "batch does not commit, applying its events one per transaction",
            metadata: ["partition": "\(partition)", "error": "\(error)"])
          try await applyOneByOne(partition, deliveries, undecodable, through: last)
          return
        }
        logger.warning(
          "applying events failed, retrying", metadata: ["partition": "\(partition)", "error": "\(error)"])
        try await Task.sleep(for: .milliseconds(100 << attempt))
      }
    }
    expected[partition] = last + 1
    persisted[partition] = last
  }

  /// Applies a batch that will not commit one event per transaction; an event whose own
  /// transaction does not commit either is dead-lettered with the reason, and the stream goes on.
  func applyOneByOne(
    _ partition: Int, _ deliveries: [Subscriber.Delivery],
    _ undecodable: [(offset: Int64, body: [UInt8], reason: String)], through last: Int64
  ) async throws {
    var waiting = undecodable[...]
    for (index, delivery) in deliveries.enumerated() {
      let through = index == deliveries.count - 1 ? last : delivery.position.offset
      let dead = Array(waiting.prefix { $0.offset <= through })
      waiting = waiting.dropFirst(dead.count)
      // Three tries, paused, before the event is taken to be at fault: a deadlock, a serialization
      // failure or a busy database passes. A lost connection is the database's, not the event's:
      // the step fails and is retried, nothing moved.
      var failure: (any Error)?
      for attempt in 0..<3 {
        if attempt > 0 { try await Task.sleep(for: .milliseconds(100 << attempt)) }
        do {
          let rejected = try await commit(
            partition, [delivery], dead, through: through, savepoints: true, isolateFailures: true)
          applied.increment(by: 1 - rejected)
          failure = nil
          break
        } catch let stop as Subscriber.Stop {
          throw stop
        } catch is CheckpointMoved {
          return try await checkpointMoved(partition)
        } catch let error as StorageError where error.code == .connectionFailed {
          throw error
        } catch {
          failure = error
        }
      }
      if let failure {
        let reason = "transaction failed: \(failure)"
        do {
          _ = try await commit(
            partition, [], dead + [(delivery.position.offset, delivery.event.encoded(), reason)],
            through: through, savepoints: false, isolateFailures: false)
        } catch is CheckpointMoved {
          return try await checkpointMoved(partition)
        }
      }
      expected[partition] = through + 1
      persisted[partition] = through
    }
    if deliveries.isEmpty || !waiting.isEmpty {
      do {
        _ = try await commit(
          partition, [], Array(waiting), through: last, savepoints: false, isolateFailures: false)
      } catch is CheckpointMoved {
        return try await checkpointMoved(partition)
      }
      expected[partition] = last + 1
      persisted[partition] = last
    }
  }

  /// Another instance moved the checkpoint: go on from where it is now.
  func checkpointMoved(_ partition: Int) async throws {
    let stored = try await loadCheckpoint(partition) ?? 0
    logger.warning(
      "checkpoint moved by another instance",
      metadata: ["partition": "\(partition)", "checkpoint": "\(stored)"])
    expected[partition] = stored + 1
    persisted[partition] = stored
  }

  /// Writes the checkpoint of every partition whose position has moved past it over events this
  /// subscriber skipped (other types, or a start at `latest`/an offset): the next start, the
  /// reported lag and the retention check then see where it really is. Called now and then.
  func persistSkippedStretches() async throws {
    for (partition, next) in expected.sorted(by: { $0.key < $1.key })
    where next - 1 > persisted[partition] ?? 0 {
      do {
        _ = try await commit(partition, [], [], through: next - 1, savepoints: false, isolateFailures: false)
        persisted[partition] = next - 1
      } catch is CheckpointMoved {
        try await checkpointMoved(partition)
      }
    }
  }

  /// One transaction: every delivery through the handler, dead letters, checkpoint.
  ///
  /// With `savepoints`, each event runs in its own savepoint and a rejected one is dead-lettered
  /// alone; with `isolateFailures` too, any handler error dead-letters its event. Returns how many
  /// of `deliveries` were dead-lettered.
  func commit(
    _ partition: Int, _ deliveries: [Subscriber.Delivery],
    _ undecodable: [(offset: Int64, body: [UInt8], reason: String)],
    through last: Int64, savepoints: Bool, isolateFailures: Bool
  ) async throws -> Int {
    let name = self.name
    let handler = subscriber.handler
    let fence = persisted[partition] ?? 0
    let deadLetters = try await subscriber.database.transaction { transaction in
      var dead = undecodable
      for delivery in deliveries {
        guard savepoints else {
          try await handler(delivery, transaction)
          continue
        }
        try await transaction.execute("SAVEPOINT passerelle_event", [])
        do {
          try await handler(delivery, transaction)
          try await transaction.execute("RELEASE SAVEPOINT passerelle_event", [])
        } catch {
          let reason: String
          switch error {
          case is Subscriber.Stop: throw error
          case let rejection as Subscriber.Rejection: reason = rejection.reason
          case let decoding as EventDecodingError: reason = decoding.description
          default:
            guard isolateFailures else { throw error }
            reason = "handler failed: \(error)"
          }
          try await transaction.execute("ROLLBACK TO SAVEPOINT passerelle_event", [])
          try await transaction.execute("RELEASE SAVEPOINT passerelle_event", [])
          dead.append((delivery.position.offset, delivery.event.encoded(), reason))
        }
      }
      let now = Int64(Date().timeIntervalSince1970 * 1000)
      if !dead.isEmpty {
        try await transaction.executeBatch(
          """
          INSERT INTO bus_dead_letters (subscriber, partition_no, event_offset, body, reason, failed_at)
          VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subscriber, partition_no, event_offset) DO NOTHING
          """,
          dead.map {
            [
              .text(name), .integer(Int64(partition)), .integer($0.offset), .blob($0.body), .text($0.reason),
              .integer(now),
            ]
          })
      }
      let moved = try await transaction.execute(
        "UPDATE bus_checkpoints SET event_offset = ? WHERE subscriber = ? AND partition_no = ? AND event_offset = ?",
        [.integer(last), .text(name), .integer(Int64(partition)), .integer(fence)])
      if moved == 0 {
        let inserted = try await transaction.execute(
          """
          INSERT INTO bus_checkpoints (subscriber, partition_no, event_offset) VALUES (?, ?, ?)
          ON CONFLICT (subscriber, partition_no) DO NOTHING
          """, [.text(name), .integer(Int64(partition)), .integer(last)])
        if inserted == 0 || fence != 0 { throw CheckpointMoved() }
      }
      return dead.count
    }
    if deadLetters > 0 {
      deadLettered.increment(by: deadLetters)
      logger.warning(
        "events dead-lettered", metadata: ["partition": "\(partition)", "count": "\(deadLetters)"])
    }
    return deadLetters - undecodable.count
  }
}
