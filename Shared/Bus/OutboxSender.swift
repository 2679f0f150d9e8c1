import Foundation
import Logging
import Metrics
import PasserelleStorage
import ServiceLifecycle
import Synchronization

/// Drains the outbox to the bus in order, one acknowledged batch at a time.
///
/// A batch is deleted only after the bus's `ACK`, in the same transaction that keeps any refused
/// event in `bus_outbox_rejected`. A timeout (bus down, restarting, a slow link) resends with
/// backoff; the bus stores each event once whatever the number of resends. A batch holds at most
/// `batchSize` events and `maximumBatchBytes` of bodies (at least one event); after a timeout the
/// next one is half the size (down to one event), and it grows back with each acknowledged batch.
/// Failures that last are logged as warnings (after ``warningAfterFailures`` attempts or
/// ``warningAfter``, then at most once per ``warningInterval``). On graceful shutdown the batch in
/// flight finishes first.
public struct OutboxSender: Service {
  /// Failed attempts in a row before the first warning.
  public static let warningAfterFailures = 5
  /// How long failing lasts before the first warning, however few the attempts.
  public static let warningAfter = Duration.seconds(30)
  /// The least time between two warnings while failing goes on.
  public static let warningInterval = Duration.seconds(60)

  private let database: any SQLDatabase
  private let client: BusClient
  private let maximumBatchBytes: Int
  private let publishTimeout: Duration
  private let idlePoll: Duration
  private let logger: Logger
  private let progress: Progress
  private let sent = Counter(label: "passerelle_outbox_sent_total")
  private let refused = Counter(label: "passerelle_outbox_rejected_total")
  private let retries = Counter(label: "passerelle_outbox_retries_total")

  /// Creates a sender from the outbox in `database` to the bus `client` talks to.
  ///
  /// `batchSize` must be in `1...1000` (``BusLimits/maximumEventsPerRequest``: the bus refuses
  /// larger requests for good). A batch also stops before its bodies exceed `maximumBatchBytes`,
  /// so that it uploads well within `publishTimeout` on a slow link.
  public init(
    database: any SQLDatabase, client: BusClient, batchSize: Int = 500, maximumBatchBytes: Int = 256 * 1024,
    publishTimeout: Duration = .seconds(5), idlePoll: Duration = .milliseconds(10),
    logger: Logger
  ) {
    precondition(
      (1...BusLimits.maximumEventsPerRequest).contains(batchSize),
      "OutboxSender batchSize must be 1...\(BusLimits.maximumEventsPerRequest), got \(batchSize)")
    precondition(
      maximumBatchBytes > 0, "OutboxSender maximumBatchBytes must be positive, got \(maximumBatchBytes)")
    self.database = database
    self.client = client
    self.maximumBatchBytes = maximumBatchBytes
    self.publishTimeout = publishTimeout
    self.idlePoll = idlePoll
    self.logger = logger
    progress = Progress(limit: BatchLimit(maximum: batchSize))
  }

  public func run() async throws {
    var backoff = Duration.milliseconds(50)
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      do {
        if try await sendBatch() {
          backoff = .milliseconds(50)
        } else {
          try? await Task.sleep(for: idlePoll)
        }
      } catch {
        retries.increment()
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(2))
      }
    }
  }

  /// Sends the oldest batch; returns `false` when the outbox is empty.
  ///
  /// - Throws: what made the batch fail (it stays in the outbox, to be sent again); a lasting run
  ///   of failures is also logged as a warning naming the endpoint and the error.
  @discardableResult
  public func sendBatch() async throws -> Bool {
    do {
      let sentSome = try await sendOldest()
      if let failures = progress.succeeded(), failures >= Self.warningAfterFailures {
        logger.info(
          "outbox delivering again",
          metadata: ["endpoint": "\(client.endpoints.ingest)", "failures": "\(failures)"])
      }
      return sentSome
    } catch {
      if let failures = progress.failed(warnAfter: Self.warningAfterFailures) {
        logger.warning(
          "outbox cannot deliver to the bus",
          metadata: [
            "endpoint": "\(client.endpoints.ingest)", "error": "\(error)", "failures": "\(failures)",
            "failing_for_s": "\(progress.failingFor.components.seconds)",
          ])
      } else {
        logger.debug("outbox batch not acknowledged, retrying", metadata: ["error": "\(error)"])
      }
      throw error
    }
  }

  /// One outbox row as read; `problem` says why it cannot be sent as it is.
  private struct Row {
    let seq: Int64
    let id: String
    let body: [UInt8]
    let problem: String?
  }

  private func sendOldest() async throws -> Bool {
    let limit = progress.limit
    // The oldest `limit` rows, cut where their bodies pass `maximumBatchBytes` (the first row
    // always goes, whatever its size).
    let rows = try await database.query(
      """
      SELECT seq, event_id, body FROM (
        SELECT seq, event_id, body, LENGTH(body) AS size, SUM(LENGTH(body)) OVER (ORDER BY seq) AS running
        FROM bus_outbox ORDER BY seq LIMIT ?
      ) AS oldest WHERE running <= ? OR running = size ORDER BY seq
      """, [.integer(Int64(limit)), .integer(Int64(maximumBatchBytes))])
    let batch = rows.compactMap(Self.read)
    guard !batch.isEmpty else { return false }
    // An event the bus cannot take (written before `Publisher` checked sizes, or by hand) is
    // refused here: sent, it would get the connection dropped and block the outbox forever.
    let sendable = batch.filter { $0.problem == nil }.map(\.body)
    var outcomes: [PublishOutcome] = []
    var refusal: ProtocolError?
    if !sendable.isEmpty {
      do {
        outcomes = try await client.publish(sendable, timeout: publishTimeout)
      } catch let timeout as BusTimeout {
        progress.shrink(after: batch.count)
        throw timeout
      } catch let error as ProtocolError where Self.isFinalRefusal(error) {
        // Final for this request: a smaller one may pass (`events`: too many); a single event
        // refused for good is set aside below. `command` means the endpoint is not the bus's
        // ingest socket: a configuration fault, not the event's, so it is retried (and warned).
        guard sendable.count == 1, error.field != "command" else {
          if sendable.count > 1 { progress.shrink(after: batch.count) }
          throw error
        }
        refusal = error
      }
    }
    var sentOutcomes = outcomes.makeIterator()
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let rejectedRows: [[SQLValue]] = batch.compactMap { row in
      let outcome =
        row.problem.map { PublishOutcome(rejectedField: "$", reason: $0) }
        ?? refusal.map { PublishOutcome(rejectedField: $0.field, reason: "request refused: \($0.reason)") }
        ?? sentOutcomes.next()
      guard let outcome, outcome.status == .rejected else { return nil }
      return [
        .integer(row.seq), .text(row.id), .blob(row.body), .text(outcome.field ?? "$"),
        .text(outcome.reason ?? ""), .integer(now),
      ]
    }
    try await database.transaction { transaction in
      if !rejectedRows.isEmpty {
        try await transaction.executeBatch(
          """
          INSERT INTO bus_outbox_rejected (seq, event_id, body, field, reason, rejected_at) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (seq) DO NOTHING
          """, rejectedRows)
      }
      // By sequence number, not by range: on PostgreSQL a lower number may still be uncommitted.
      try await transaction.executeBatch(
        "DELETE FROM bus_outbox WHERE seq = ?", batch.map { [.integer($0.seq)] })
    }
    progress.grow()
    sent.increment(by: batch.count - rejectedRows.count)
    if !rejectedRows.isEmpty {
      refused.increment(by: rejectedRows.count)
      for row in rejectedRows {
        logger.warning(
          "event set aside as rejected",
          metadata: ["event.id": "\(row[1])", "field": "\(row[3])", "reason": "\(row[4])"])
      }
    }
    return true
  }

  /// Whether `error`, thrown by ``BusClient/publish(_:timeout:)``, is the bus's `ERROR` reply
  /// (final: resending the same request gets the same answer) rather than a reply this client
  /// could not read (`reply`, `outcome…`: resent, as docs/PROTOCOL.md asks).
  static func isFinalRefusal(_ error: ProtocolError) -> Bool {
    error.field != "reply" && !error.field.hasPrefix("outcome")
  }

  /// Reads a row; one whose columns do not hold what ``Publisher`` writes (written by hand, by
  /// another program) comes back with a `problem`, to be set aside rather than skipped forever.
  private static func read(_ row: SQLRow) -> Row? {
    guard case .integer(let seq) = row["seq"] else { return nil }
    switch (row["event_id"], row["body"]) {
    case (.text(let id), .blob(let body)):
      return Row(seq: seq, id: id, body: body, problem: BusLimits.sizeProblem(ofEvent: body))
    case (let id, let body):
      let bytes: [UInt8] = if case .text(let text) = body { Array(text.utf8) } else { [] }
      let name =
        switch id {
        case .text(let text): text
        case .integer(let number): String(number)
        default: ""
        }
      return Row(
        seq: seq, id: name, body: bytes,
        problem: "unreadable outbox row: event_id \(kind(id)), body \(kind(body)) (expected text and blob)")
    }
  }

  private static func kind(_ value: SQLValue?) -> String {
    switch value {
    case .null, nil: "null"
    case .integer: "integer"
    case .real: "real"
    case .text: "text"
    case .blob: "blob"
    }
  }
}

/// What one sender remembers between batches: the batch limit and the run of failures.
private final class Progress: Sendable {
  private struct State {
    var limit: BatchLimit
    var failures = 0
    var failingSince: ContinuousClock.Instant?
    var lastWarning: ContinuousClock.Instant?
  }

  private let state: Mutex<State>

  init(limit: BatchLimit) {
    state = Mutex(State(limit: limit))
  }

  /// Events the next batch may hold.
  var limit: Int { state.withLock { $0.limit.current } }

  /// How long the current run of failures has lasted (zero when none).
  var failingFor: Duration { state.withLock { $0.failingSince.map { .now - $0 } ?? .zero } }

  func shrink(after size: Int) { state.withLock { $0.limit.shrink(after: size) } }

  func grow() { state.withLock { $0.limit.grow() } }

  /// Ends a run of failures; returns how many there were, if any.
  func succeeded() -> Int? {
    state.withLock { state in
      defer {
        state.failures = 0
        state.failingSince = nil
        state.lastWarning = nil
      }
      return state.failures > 0 ? state.failures : nil
    }
  }

  /// Counts a failure; returns the count when it is time to warn: after `warnAfter` failures or
  /// ``OutboxSender/warningAfter`` of failing, then once per ``OutboxSender/warningInterval``.
  func failed(warnAfter: Int) -> Int? {
    state.withLock { state in
      let now = ContinuousClock.now
      state.failures += 1
      let since = state.failingSince ?? now
      state.failingSince = since
      let due =
        if let last = state.lastWarning {
          now - last >= OutboxSender.warningInterval
        } else {
          state.failures >= warnAfter || now - since >= OutboxSender.warningAfter
        }
      guard due else { return nil }
      state.lastWarning = now
      return state.failures
    }
  }
}
