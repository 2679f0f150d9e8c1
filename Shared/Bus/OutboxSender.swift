import Foundation
import Logging
import Metrics
import PasserelleStorage
import ServiceLifecycle

/// Drains the outbox to the bus in order, one acknowledged batch at a time.
///
/// A batch is deleted only after the bus's `ACK`, in the same transaction that keeps any refused
/// event in `bus_outbox_rejected`. A timeout (bus down, restarting) resends the same batch with
/// backoff; the bus stores each event once whatever the number of resends. On graceful shutdown
/// the batch in flight finishes first.
public struct OutboxSender: Service {
  private let database: any SQLDatabase
  private let client: BusClient
  private let batchSize: Int
  private let idlePoll: Duration
  private let logger: Logger
  private let sent = Counter(label: "passerelle_outbox_sent_total")
  private let refused = Counter(label: "passerelle_outbox_rejected_total")
  private let retries = Counter(label: "passerelle_outbox_retries_total")

  /// Creates a sender from the outbox in `database` to the bus `client` talks to.
  public init(
    database: any SQLDatabase, client: BusClient, batchSize: Int = 500,
    idlePoll: Duration = .milliseconds(10),
    logger: Logger
  ) {
    self.database = database
    self.client = client
    self.batchSize = batchSize
    self.idlePoll = idlePoll
    self.logger = logger
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
        logger.debug("outbox batch not acknowledged, retrying", metadata: ["error": "\(error)"])
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(2))
      }
    }
  }

  /// Sends the oldest batch; returns `false` when the outbox is empty.
  @discardableResult
  public func sendBatch() async throws -> Bool {
    let rows = try await database.query(
      "SELECT seq, event_id, body FROM bus_outbox ORDER BY seq LIMIT ?", [.integer(Int64(batchSize))])
    var batch: [(seq: Int64, id: String, body: [UInt8])] = []
    for row in rows {
      if case .integer(let seq) = row["seq"], case .text(let id) = row["event_id"],
        case .blob(let body) = row["body"]
      {
        batch.append((seq, id, body))
      }
    }
    guard !batch.isEmpty else { return false }
    let sequenceNumbers: [[SQLValue]] = batch.map { [.integer($0.seq)] }
    // An event the bus cannot take (written before `Publisher` checked sizes, or by hand) is
    // refused here: sent, it would get the connection dropped and block the outbox forever.
    let sizeProblems = batch.map { BusLimits.sizeProblem(ofEvent: $0.body) }
    let sendable = zip(batch, sizeProblems).filter { $1 == nil }.map(\.0.body)
    let sentOutcomes = sendable.isEmpty ? [] : try await client.publish(sendable)
    var outcomes = sentOutcomes.makeIterator()
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let rejectedRows: [[SQLValue]] = zip(batch, sizeProblems).compactMap { item, sizeProblem in
      let outcome = sizeProblem.map { PublishOutcome(rejectedField: "$", reason: $0) } ?? outcomes.next()
      guard let outcome, outcome.status == .rejected else { return nil }
      return [
        .integer(item.seq), .text(item.id), .blob(item.body), .text(outcome.field ?? "$"),
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
      try await transaction.executeBatch("DELETE FROM bus_outbox WHERE seq = ?", sequenceNumbers)
    }
    sent.increment(by: batch.count - rejectedRows.count)
    if !rejectedRows.isEmpty {
      refused.increment(by: rejectedRows.count)
      for row in rejectedRows {
        logger.warning("bus rejected an event", metadata: ["event.id": "\(row[1])", "field": "\(row[3])"])
      }
    }
    return true
  }
}
