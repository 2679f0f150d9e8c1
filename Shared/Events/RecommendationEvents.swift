// Payloads of the recommendation service.

/// Recommendations were computed for a customer in a context (clienteling screen, follow-up email).
public struct RecommendationComputed: EventPayload {
  /// `recommendation.computed.v1`.
  public static let eventType = "recommendation.computed.v1"

  /// The customer key (the partition key).
  public var customerKey: String
  /// Where they will be shown, e.g. `clienteling`, `post-purchase-email`.
  public var placement: String
  /// The channel of the placement.
  public var channel: Channel
  /// The store, for in-store placements.
  public var storeId: String?
  /// The recommendations, best first.
  public var items: [RecommendedItem]
  /// The algorithm and version that produced them, e.g. `cooccurrence-v3`.
  public var model: String

  /// Creates the payload.
  public init(
    customerKey: String, placement: String, channel: Channel, storeId: String? = nil,
    items: [RecommendedItem], model: String
  ) {
    self.customerKey = customerKey
    self.placement = placement
    self.channel = channel
    self.storeId = storeId
    self.items = items
    self.model = model
  }
}

/// One recommended product with its score and a human-readable reason.
public struct RecommendedItem: Codable, Sendable, Hashable {
  /// The product.
  public var sku: String
  /// The model's score; higher is better, comparable only within one computation.
  public var score: Double
  /// Why, for the associate or the email: `bought-together`, `viewed-online`, `popular-in-store`.
  public var reason: String

  /// Creates an item.
  public init(sku: String, score: Double, reason: String) {
    self.sku = sku
    self.score = score
    self.reason = reason
  }
}
