/// An amount of money in integer minor units (cents) of an ISO 4217 currency; never floating point.
public struct Money: Codable, Sendable, Hashable {
  /// The amount in the currency's minor unit: 129_900 EUR is €1,299.00. Negative for refunds.
  public var amountMinor: Int64
  /// The ISO 4217 alphabetic code, e.g. `EUR`.
  public var currency: String

  /// Creates an amount.
  public init(amountMinor: Int64, currency: String) {
    self.amountMinor = amountMinor
    self.currency = currency
  }
}
