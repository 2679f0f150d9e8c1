import Foundation
import PasserelleEvents
import PasserelleStorage

/// Publishes events through a durable local outbox: `publish` returns once the event is safe on
/// this machine, and ``OutboxSender`` delivers it to the bus, deleting it on acknowledgement.
///
/// A store keeps selling while the network is down: the outbox grows, then drains in order. To
/// publish atomically with a state change, call ``publish(_:in:)`` inside the service's own
/// transaction (the transactional outbox).
public struct Publisher: Sendable {
  private let database: any SQLDatabase

  /// Creates a publisher over a database migrated with ``BusClientSchema/migrations``.
  public init(database: any SQLDatabase) {
    self.database = database
  }

  /// Stores `events` in the outbox, in order, in one transaction.
  public func publish(_ events: [CloudEvent]) async throws {
    try await database.transaction { transaction in try await publish(events, in: transaction) }
  }

  /// Stores one event in the outbox.
  public func publish(_ event: CloudEvent) async throws {
    try await publish([event])
  }

  /// Stores `events` in the outbox as part of the caller's transaction.
  ///
  /// An event the bus would refuse for sure throws ``ProtocolError`` and nothing is stored: one
  /// larger than ``BusLimits/maximumEventBytes`` once encoded (field `$`: the bus would drop the
  /// connection without a reply), or one of a reserved type (field `type`, ``Topic/reservedTypeProblem(_:)``).
  public func publish(_ events: [CloudEvent], in transaction: any SQLTransaction) async throws {
    let bodies = events.map { $0.encoded() }
    for (event, body) in zip(events, bodies) {
      if let problem = BusLimits.sizeProblem(ofEvent: body) {
        throw ProtocolError(field: "$", reason: "event \(event.id): \(problem)")
      }
      if let problem = Topic.reservedTypeProblem(event.type) {
        throw ProtocolError(field: "type", reason: "event \(event.id): \(problem)")
      }
    }
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    try await transaction.executeBatch(
      "INSERT INTO bus_outbox (event_id, body, created_at) VALUES (?, ?, ?)",
      zip(events, bodies).map { [.text($0.id), .blob($1), .integer(now)] })
  }

  /// How many events wait in the outbox.
  public func pending() async throws -> Int {
    let rows = try await database.query("SELECT COUNT(*) AS n FROM bus_outbox", [])
    if case .integer(let count)? = rows.first?["n"] { return Int(count) }
    return 0
  }

  /// Events the bus refused (invalid envelope), kept with the field and reason.
  public func rejected() async throws -> [(eventId: String, field: String, reason: String)] {
    try await database.query("SELECT event_id, field, reason FROM bus_outbox_rejected ORDER BY seq", [])
      .compactMap { row in
        guard case .text(let id) = row["event_id"], case .text(let field) = row["field"],
          case .text(let reason) = row["reason"]
        else { return nil }
        return (id, field, reason)
      }
  }
}
