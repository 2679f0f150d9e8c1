import Foundation

// Payloads of the coupon authority (the notification service).

/// A coupon was issued to a customer. Exactly one of `percentOff` and `amountOff` is set.
public struct CouponIssued: EventPayload {
  /// `coupon.issued.v1`.
  public static let eventType = "coupon.issued.v1"

  /// The code the customer shows or types.
  public var couponCode: String
  /// The campaign that issued it.
  public var campaignId: String?
  /// The customer key (the partition key).
  public var customerKey: String
  /// The channel it was sent on.
  public var channel: Channel
  /// A percentage discount, 1 to 100.
  public var percentOff: Int?
  /// A fixed discount.
  public var amountOff: Money?
  /// The basket needed to use it.
  public var minimumSpend: Money?
  /// First instant it can be used.
  public var validFrom: Date
  /// Last instant it can be used.
  public var validUntil: Date
  /// Whether it works once across all stores and channels.
  public var singleUse: Bool

  /// Creates the payload.
  public init(
    couponCode: String, campaignId: String? = nil, customerKey: String, channel: Channel,
    percentOff: Int? = nil, amountOff: Money? = nil, minimumSpend: Money? = nil, validFrom: Date,
    validUntil: Date, singleUse: Bool
  ) {
    self.couponCode = couponCode
    self.campaignId = campaignId
    self.customerKey = customerKey
    self.channel = channel
    self.percentOff = percentOff
    self.amountOff = amountOff
    self.minimumSpend = minimumSpend
    self.validFrom = validFrom
    self.validUntil = validUntil
    self.singleUse = singleUse
  }
}

/// A coupon was accepted in a sale, in a store or online.
public struct CouponRedeemed: EventPayload {
  /// `coupon.redeemed.v1`.
  public static let eventType = "coupon.redeemed.v1"

  /// The code.
  public var couponCode: String
  /// The customer, when known.
  public var customerKey: String?
  /// Where it was used.
  public var channel: Channel
  /// The till transaction, for store redemptions.
  public var transaction: PosTransactionKey?
  /// The order, for online redemptions.
  public var orderId: String?
  /// The discount actually granted.
  public var discount: Money

  /// Creates the payload.
  public init(
    couponCode: String, customerKey: String? = nil, channel: Channel, transaction: PosTransactionKey? = nil,
    orderId: String? = nil, discount: Money
  ) {
    self.couponCode = couponCode
    self.customerKey = customerKey
    self.channel = channel
    self.transaction = transaction
    self.orderId = orderId
    self.discount = discount
  }
}

/// A coupon check failed at a till or checkout.
public struct CouponRejected: EventPayload {
  /// `coupon.rejected.v1`.
  public static let eventType = "coupon.rejected.v1"

  /// Why a coupon is refused.
  public enum Reason: String, CaseIterable, Codable, Sendable {
    /// No such code.
    case unknown
    /// Outside its validity period.
    case expired
    /// A single-use coupon already used.
    case alreadyRedeemed
    /// Basket, customer or store not eligible.
    case notEligible
    /// Withdrawn by the retailer (or the customer was erased).
    case revoked
  }

  /// The code presented.
  public var couponCode: String
  /// The customer, when known.
  public var customerKey: String?
  /// Where it was presented.
  public var channel: Channel
  /// The store, for till checks.
  public var storeId: String?
  /// The till transaction in progress, if any.
  public var transaction: PosTransactionKey?
  /// Why it was refused.
  public var reason: Reason

  /// Creates the payload.
  public init(
    couponCode: String, customerKey: String? = nil, channel: Channel, storeId: String? = nil,
    transaction: PosTransactionKey? = nil, reason: Reason
  ) {
    self.couponCode = couponCode
    self.customerKey = customerKey
    self.channel = channel
    self.storeId = storeId
    self.transaction = transaction
    self.reason = reason
  }
}
