import Foundation
import Logging
import Metrics
import PasserelleEvents
import PasserelleStorage
import ServiceLifecycle
import ZeroMQ

/// The running state of one ``Subscriber``: owned partitions, next offsets, the live socket.
///
/// Lives in the subscriber's task only; nothing here is shared.
final class SubscriberSession {
  let subscriber: Subscriber
  let partitions: Int
  let live: AsyncSocket
  let leases: PartitionLeases?
  /// The next offset to apply, per owned partition.
  var expected: [Int: Int64] = [:]
  /// The checkpoint as stored, per owned partition (the fence for the next update).
  var persisted: [Int: Int64] = [:]
  /// The last position reported to the bus, per partition.
  var reported: [Int: Int64] = [:]
  /// Owned partitions whose catch-up has not reached the head yet: the loop advances them a
  /// bounded step at a time, and their live messages are left to the catch-up.
  var behind: Set<Int> = []
  /// The partition whose catch-up made the last step (the next step goes to the one after it).
  var lastStepped = -1
  /// Events per `FETCH`: halved after one timed out, grown back after those that did not.
  var fetchLimit: BatchLimit
  let applied = Counter(label: "passerelle_subscriber_events_applied_total")
  let deadLettered = Counter(label: "passerelle_subscriber_dead_letters_total")
  let repaired = Counter(label: "passerelle_subscriber_gap_repairs_total")
  let failedSteps = Counter(label: "passerelle_subscriber_step_failures_total")

  var name: String { subscriber.configuration.name }
  var logger: Logger { subscriber.logger }

  init(subscriber: Subscriber) async throws {
    self.subscriber = subscriber
    let info = try await Self.waitForBus(subscriber.client, logger: subscriber.logger)
    partitions = info.partitions
    fetchLimit = BatchLimit(
      maximum: min(max(subscriber.configuration.fetchBatch, 1), BusLimits.maximumEventsPerFetch))
    live = try await subscriber.client.liveSocket(
      prefixes: [], highWaterMark: subscriber.configuration.liveHighWaterMark)
    if case .leased(let instance, let ttl) = subscriber.configuration.assignment {
      leases = PartitionLeases(
        database: subscriber.database, subscriber: subscriber.configuration.name, instance: instance,
        partitions: info.partitions, ttl: ttl)
    } else {
      leases = nil
    }
  }

  deinit {
    live.close()
  }

  /// Asks the bus for its shape, retrying while it is not up yet, until graceful shutdown (which
  /// ends the subscriber as ``Subscriber/Stop`` does).
  private static func waitForBus(_ client: BusClient, logger: Logger) async throws -> JournalInfo {
    while !Task.isShuttingDownGracefully {
      do {
        return try await client.info(timeout: .milliseconds(500))
      } catch is BusTimeout {
        logger.info("waiting for the bus")
        try await Task.sleep(for: .milliseconds(200))
      }
    }
    throw Subscriber.Stop()
  }

  func run() async throws {
    guard let leases, case .leased(_, let ttl) = subscriber.configuration.assignment else {
      return try await consume()
    }
    let logger = self.logger
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        while !Task.isCancelled {
          try await Task.sleep(for: ttl / 4)
          do { try await leases.renew() } catch {
            logger.warning("lease renewal failed", metadata: ["error": "\(error)"])
          }
        }
      }
      defer { group.cancelAll() }
      try await consume()
    }
  }

  /// The processing loop: live messages, gap repair, catch-up steps, and housekeeping between them.
  ///
  /// A catch-up goes a bounded step at a time (``pagesPerStep`` pages of one partition), so that
  /// lease heartbeats, position reports, the other partitions and graceful shutdown never wait for
  /// a whole backlog. A step that fails (the bus restarting in the middle of a catch-up, a
  /// database error, two lease heartbeats deadlocking) is retried with backoff: nothing moved
  /// unless it committed, and what the failed step did not apply comes back as a gap. After
  /// ``maximumFailedSteps`` in a row the error ends the subscriber (a fault that does not pass is
  /// the operator's to see).
  private func consume() async throws {
    var lastHousekeeping: ContinuousClock.Instant?
    let interval = subscriber.configuration.housekeepingInterval
    var failures = 0
    do {
      while !Task.isShuttingDownGracefully {
        do {
          if lastHousekeeping.map({ ContinuousClock.now - $0 >= interval }) ?? true {
            try await rebalance()
            if lastHousekeeping != nil {
              try await catchUpWhereBehind()
              try await persistSkippedStretches()
              await reportPositions()
            }
            lastHousekeeping = .now
          }
          if let partition = behind.sorted().first(where: { $0 > lastStepped }) ?? behind.min() {
            lastStepped = partition
            try await catchUp(partition)
          }
          // While a catch-up is under way the loop only takes what has already arrived.
          if let first = behind.isEmpty
            ? try await live.receive(timeout: interval) : live.receiveIfAvailable()
          {
            var batch = [first]
            while batch.count < 1000, let more = live.receiveIfAvailable() { batch.append(more) }
            try await process(batch)
          }
          failures = 0
        } catch let error
          where !(error is Subscriber.Stop || error is CancellationError || error is AsyncSocket.Closed)
        {
          failures += 1
          failedSteps.increment()
          guard failures < Self.maximumFailedSteps else { throw error }
          logger.warning(
            "subscriber step failed, retrying",
            metadata: ["subscriber": "\(name)", "attempt": "\(failures)", "error": "\(error)"])
          try await Task.sleep(for: .milliseconds(100 << min(failures, 7)))
        }
      }
    } catch let stop as Subscriber.Stop {
      // A handler's `Stop` ends the subscriber as graceful shutdown does: leases handed over.
      try await finish()
      throw stop
    }
    try await finish()
  }

  /// On the way out: positions written and reported, leases given back, the live socket closed.
  private func finish() async throws {
    do { try await persistSkippedStretches() } catch {
      logger.debug("checkpoint not written on the way out", metadata: ["error": "\(error)"])
    }
    await reportPositions()
    if let leases { try await leases.releaseAll() }
    live.close()
  }

  /// How many failed steps in a row end the subscriber: about 40 s of backoff in all.
  static let maximumFailedSteps = 9

  /// How many `FETCH` pages of one partition a catch-up step applies before the loop goes on.
  static let pagesPerStep = 2

  // MARK: Partitions

  /// Brings the owned partitions in line with the assignment (leases) and catches new ones up.
  private func rebalance() async throws {
    let wanted: Set<Int> =
      switch subscriber.configuration.assignment {
      case .all: Set(0..<partitions)
      case .fixed(let set): set.filter { $0 < partitions }
      case .leased: try await leases?.heartbeat() ?? []
      }
    let current = Set(expected.keys)
    for partition in current.subtracting(wanted).sorted() {
      try await live.set(.unsubscribe(Array(Topic.prefix(partition: partition).utf8)))
      expected[partition] = nil
      persisted[partition] = nil
      behind.remove(partition)
      logger.info("released partition", metadata: ["subscriber": "\(name)", "partition": "\(partition)"])
    }
    let added = wanted.subtracting(current).sorted()
    guard !added.isEmpty else { return }
    let heads = subscriber.configuration.start == .latest ? try await subscriber.client.info().heads : []
    for partition in added {
      // Subscribe first, then catch up: whatever is published meanwhile is buffered, then deduplicated.
      try await live.set(.subscribe(Array(Topic.prefix(partition: partition).utf8)))
      let checkpoint = try await loadCheckpoint(partition)
      let start: Int64 =
        switch subscriber.configuration.start {
        case _ where checkpoint != nil: checkpoint ?? 0
        case .earliest: 0
        case .latest: heads.indices.contains(partition) ? heads[partition] : 0
        case .offset(let offset): max(offset - 1, 0)
        }
      expected[partition] = start + 1
      persisted[partition] = checkpoint ?? 0
      logger.info(
        "consuming partition",
        metadata: ["subscriber": "\(name)", "partition": "\(partition)", "from": "\(start + 1)"])
      behind.insert(partition)
    }
  }

  /// Marks for catch-up every owned partition whose head, asked of the bus, is at or past the next
  /// offset to apply. The `~head` heartbeats on the live stream usually tell first, but they are
  /// dropped like any live message: a burst of one per partition does not fit a queue smaller
  /// than the partition count, so without this a partition whose last events and heartbeats were
  /// all dropped would wait for its next event.
  private func catchUpWhereBehind() async throws {
    let heads = try await subscriber.client.info().heads
    for (partition, next) in expected.sorted(by: { $0.key < $1.key })
    where heads.indices.contains(partition) && heads[partition] >= next {
      behind.insert(partition)
    }
  }

  func loadCheckpoint(_ partition: Int) async throws -> Int64? {
    let rows = try await subscriber.database.query(
      "SELECT event_offset FROM bus_checkpoints WHERE subscriber = ? AND partition_no = ?",
      [.text(name), .integer(Int64(partition))])
    if case .integer(let offset)? = rows.first?["event_offset"] { return offset }
    return nil
  }

  // MARK: Live stream

  private func process(_ batch: [Message]) async throws {
    var pending: [Int: [(offset: Int64, body: [UInt8])]] = [:]
    var order: [Int] = []
    for message in batch {
      guard message.count == 3, let (partition, type) = Topic.parse(message[0].string),
        let position = EventPosition(wire: message[1].string), let next = expected[partition],
        !behind.contains(partition)
      else { continue }
      let cursor = next + Int64(pending[partition]?.count ?? 0)
      if type == Topic.headMarker {
        if position.offset >= cursor {
          try await flush(partition, &pending)
          try await catchUp(partition)
        }
        continue
      }
      if position.offset < cursor { continue }
      if position.offset > cursor {
        try await flush(partition, &pending)
        repaired.increment()
        try await catchUp(partition)
        // Only the very next event may follow a catch-up. One further on (the catch-up step
        // stopped short of it, or another instance moved the checkpoint below it meanwhile) waits
        // for the next step: applied alone, it would move the checkpoint past events nobody applied.
        guard !behind.contains(partition), position.offset == expected[partition] else { continue }
      }
      if pending[partition] == nil { order.append(partition) }
      pending[partition, default: []].append((position.offset, message[2].bytes))
    }
    for partition in order { try await flush(partition, &pending) }
  }

  private func flush(_ partition: Int, _ pending: inout [Int: [(offset: Int64, body: [UInt8])]]) async throws
  {
    guard let items = pending.removeValue(forKey: partition), let last = items.last else { return }
    try await apply(partition, items, through: last.offset)
  }

  /// One step of catching up: fetches at most ``pagesPerStep`` pages from the journal, from
  /// wherever the checkpoint is (if another instance moves it meanwhile, fetching goes on from
  /// there). The partition stays in ``behind`` until a step reaches the head.
  private func catchUp(_ partition: Int) async throws {
    let prefixes = subscriber.configuration.prefixes
    behind.insert(partition)
    for _ in 0..<Self.pagesPerStep {
      guard let from = expected[partition] else { break }
      let size = fetchLimit.current
      let header: FetchHeader
      let bodies: [Frame]
      do {
        (header, bodies) = try await subscriber.client.fetch(
          FetchRequest(
            partition: partition, from: from, max: size, prefixes: prefixes.isEmpty ? nil : prefixes))
      } catch let timeout as BusTimeout {
        fetchLimit.shrink(after: size)
        throw timeout
      }
      fetchLimit.grow()
      if header.low > from {
        logger.warning(
          "events expired by retention before this subscriber read them",
          metadata: [
            "subscriber": "\(name)", "partition": "\(partition)", "from": "\(from)", "low": "\(header.low)",
          ])
      }
      let items = zip(header.offsets, bodies).map { (offset: $0, body: $1.bytes) }
      if header.next > from { try await apply(partition, items, through: header.next - 1) }
      if header.next <= from || (header.next > header.head && expected[partition] == header.next) {
        behind.remove(partition)
        return
      }
    }
    if expected[partition] == nil { behind.remove(partition) }
  }

  // MARK: Reporting

  /// Tells the bus how far this subscriber is, for `passerelle lag` and the lag metric.
  private func reportPositions() async {
    guard subscriber.configuration.reportsPositions else { return }
    for (partition, offset) in persisted where reported[partition] != offset {
      do {
        try await subscriber.client.report(
          PositionReport(subscriber: name, partition: partition, offset: offset), timeout: .milliseconds(500))
        reported[partition] = offset
      } catch {
        logger.debug("position report failed", metadata: ["error": "\(error)"])
      }
    }
  }
}
