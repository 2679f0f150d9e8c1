import Foundation

// Payloads of online orders, delivered or collected in store.

/// A customer placed an order online, for delivery or click-and-collect.
public struct OrderPlaced: EventPayload {
  /// `order.placed.v1`.
  public static let eventType = "order.placed.v1"

  /// How an order reaches the customer.
  public enum Fulfilment: String, CaseIterable, Codable, Sendable {
    /// Shipped to an address.
    case delivery
    /// Collected in a store (`pickupStoreId`).
    case clickAndCollect
  }

  /// The order.
  public var orderId: String
  /// The customer key (the partition key).
  public var customerKey: String
  /// Where it was placed (`web`, `app`, `phone`, `kiosk`).
  public var channel: Channel
  /// How the customer gets it.
  public var fulfilment: Fulfilment
  /// The store to collect from; set exactly when `fulfilment` is `clickAndCollect`.
  public var pickupStoreId: String?
  /// What was ordered.
  public var items: [LineItem]
  /// The amount charged, after discounts.
  public var total: Money
  /// Coupons applied, empty if none.
  public var couponCodes: [String]

  /// Creates the payload.
  public init(
    orderId: String, customerKey: String, channel: Channel, fulfilment: Fulfilment,
    pickupStoreId: String? = nil, items: [LineItem], total: Money, couponCodes: [String]
  ) {
    self.orderId = orderId
    self.customerKey = customerKey
    self.channel = channel
    self.fulfilment = fulfilment
    self.pickupStoreId = pickupStoreId
    self.items = items
    self.total = total
    self.couponCodes = couponCodes
  }
}

/// A store prepared a click-and-collect order; the customer is told it is ready.
public struct OrderReadyForPickup: EventPayload {
  /// `order.ready_for_pickup.v1`.
  public static let eventType = "order.ready_for_pickup.v1"

  /// The order.
  public var orderId: String
  /// The customer key (the partition key).
  public var customerKey: String
  /// The store holding it.
  public var storeId: String
  /// The code the customer shows at the till.
  public var pickupCode: String
  /// When the store stops holding it.
  public var holdUntil: Date

  /// Creates the payload.
  public init(orderId: String, customerKey: String, storeId: String, pickupCode: String, holdUntil: Date) {
    self.orderId = orderId
    self.customerKey = customerKey
    self.storeId = storeId
    self.pickupCode = pickupCode
    self.holdUntil = holdUntil
  }
}

/// The customer collected a click-and-collect order at a till; the order is closed.
public struct OrderCollected: EventPayload {
  /// `order.collected.v1`.
  public static let eventType = "order.collected.v1"

  /// The order.
  public var orderId: String
  /// The customer key (the partition key).
  public var customerKey: String
  /// The store.
  public var storeId: String
  /// The till that handed it over.
  public var workstationId: String?
  /// The associate who handed it over.
  public var associateId: String?

  /// Creates the payload.
  public init(
    orderId: String, customerKey: String, storeId: String, workstationId: String? = nil,
    associateId: String? = nil
  ) {
    self.orderId = orderId
    self.customerKey = customerKey
    self.storeId = storeId
    self.workstationId = workstationId
    self.associateId = associateId
  }
}
