/// The idempotency key of a till transaction: a store's workstation numbers its transactions per
/// business day, so these four fields identify one transaction across resends and offline replays.
public struct PosTransactionKey: Codable, Sendable, Hashable {
  /// The store.
  public var storeId: String
  /// The till (workstation) within the store.
  public var workstationId: String
  /// The business day, `YYYY-MM-DD` in the store's time zone.
  public var businessDay: String
  /// The till's transaction number within the business day.
  public var sequenceNumber: Int64

  /// Creates a key.
  public init(storeId: String, workstationId: String, businessDay: String, sequenceNumber: Int64) {
    self.storeId = storeId
    self.workstationId = workstationId
    self.businessDay = businessDay
    self.sequenceNumber = sequenceNumber
  }
}
