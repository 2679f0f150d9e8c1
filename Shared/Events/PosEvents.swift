import Foundation

// Payloads of till transactions bridged by the POS service.

/// A till completed a sale. `transaction` is the idempotency key: the bridge accepts it once.
public struct PosPurchaseCompleted: EventPayload {
  /// `pos.purchase.completed.v1`.
  public static let eventType = "pos.purchase.completed.v1"

  /// Store, workstation, business day and sequence number.
  public var transaction: PosTransactionKey
  /// The customer, when identified (loyalty card, email, phone).
  public var customerKey: String?
  /// The identity presented at the till, if any.
  public var identity: CustomerIdentity?
  /// The associate who rang it up.
  public var associateId: String?
  /// What was sold.
  public var items: [LineItem]
  /// The amount paid, after discounts.
  public var total: Money
  /// Coupons redeemed in the sale, empty if none.
  public var couponCodes: [String]

  /// Creates the payload.
  public init(
    transaction: PosTransactionKey, customerKey: String? = nil, identity: CustomerIdentity? = nil,
    associateId: String? = nil, items: [LineItem], total: Money, couponCodes: [String]
  ) {
    self.transaction = transaction
    self.customerKey = customerKey
    self.identity = identity
    self.associateId = associateId
    self.items = items
    self.total = total
    self.couponCodes = couponCodes
  }
}

/// A till took goods back. `transaction` is the return's own idempotency key.
public struct PosPurchaseReturned: EventPayload {
  /// `pos.purchase.returned.v1`.
  public static let eventType = "pos.purchase.returned.v1"

  /// The return transaction's key.
  public var transaction: PosTransactionKey
  /// The sale being returned, when the receipt was shown.
  public var originalTransaction: PosTransactionKey?
  /// The online order being returned in store, if any.
  public var orderId: String?
  /// The customer, when identified.
  public var customerKey: String?
  /// What came back.
  public var items: [LineItem]
  /// The amount refunded (positive).
  public var refund: Money
  /// Why, as the till recorded it (e.g. `wrong-size`).
  public var reason: String?

  /// Creates the payload.
  public init(
    transaction: PosTransactionKey, originalTransaction: PosTransactionKey? = nil, orderId: String? = nil,
    customerKey: String? = nil, items: [LineItem], refund: Money, reason: String? = nil
  ) {
    self.transaction = transaction
    self.originalTransaction = originalTransaction
    self.orderId = orderId
    self.customerKey = customerKey
    self.items = items
    self.refund = refund
    self.reason = reason
  }
}
