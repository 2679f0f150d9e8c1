/// One line of a cart, order, receipt or return.
public struct LineItem: Codable, Sendable, Hashable {
  /// The stock-keeping unit.
  public var sku: String
  /// How many units.
  public var quantity: Int
  /// The price of one unit before line discounts.
  public var unitPrice: Money
  /// The discount applied to the whole line, if any (positive amount).
  public var discount: Money?

  /// Creates a line.
  public init(sku: String, quantity: Int, unitPrice: Money, discount: Money? = nil) {
    self.sku = sku
    self.quantity = quantity
    self.unitPrice = unitPrice
    self.discount = discount
  }
}
