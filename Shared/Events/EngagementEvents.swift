import Foundation

// Payloads of engagement events from the gateway (web, app, kiosk, catalogue scans) and campaigns.

/// A shopper looked at a product: a product page (web, app), a kiosk, or a scanned catalogue code.
public struct ProductViewed: EventPayload {
  /// `product.viewed.v1`.
  public static let eventType = "product.viewed.v1"

  /// The identity the channel knows the shopper by (an anonymous id on the web).
  public var identity: CustomerIdentity
  /// The customer key, once the profile service has resolved the identity.
  public var customerKey: String?
  /// Where: `web`, `app`, `kiosk` or `catalogue`.
  public var channel: Channel
  /// The product's SKU.
  public var sku: String
  /// The product's category, if known.
  public var categoryId: String?
  /// The price shown.
  public var price: Money?
  /// The store, for kiosks and in-store scans.
  public var storeId: String?

  /// Creates the payload.
  public init(
    identity: CustomerIdentity, customerKey: String? = nil, channel: Channel, sku: String,
    categoryId: String? = nil, price: Money? = nil, storeId: String? = nil
  ) {
    self.identity = identity
    self.customerKey = customerKey
    self.channel = channel
    self.sku = sku
    self.categoryId = categoryId
    self.price = price
    self.storeId = storeId
  }
}

/// A cart changed; carries the whole cart after the change.
public struct CartUpdated: EventPayload {
  /// `cart.updated.v1`.
  public static let eventType = "cart.updated.v1"

  /// The identity the channel knows the shopper by (an anonymous id on the web).
  public var identity: CustomerIdentity
  /// The customer key, once the profile service has resolved the identity.
  public var customerKey: String?
  /// Where the cart lives.
  public var channel: Channel
  /// The cart.
  public var cartId: String
  /// Every line in the cart now.
  public var items: [LineItem]
  /// The cart total now.
  public var total: Money

  /// Creates the payload.
  public init(
    identity: CustomerIdentity, customerKey: String? = nil, channel: Channel, cartId: String,
    items: [LineItem], total: Money
  ) {
    self.identity = identity
    self.customerKey = customerKey
    self.channel = channel
    self.cartId = cartId
    self.items = items
    self.total = total
  }
}

/// A cart saw no activity for the abandonment delay and was not ordered.
public struct CartAbandoned: EventPayload {
  /// `cart.abandoned.v1`.
  public static let eventType = "cart.abandoned.v1"

  /// The identity the channel knows the shopper by (an anonymous id on the web).
  public var identity: CustomerIdentity
  /// The customer key, once the profile service has resolved the identity.
  public var customerKey: String?
  /// Where the cart lives.
  public var channel: Channel
  /// The cart.
  public var cartId: String
  /// The lines left in the cart.
  public var items: [LineItem]
  /// The cart total.
  public var total: Money
  /// When the cart last changed.
  public var lastActivityAt: Date

  /// Creates the payload.
  public init(
    identity: CustomerIdentity, customerKey: String? = nil, channel: Channel, cartId: String,
    items: [LineItem], total: Money, lastActivityAt: Date
  ) {
    self.identity = identity
    self.customerKey = customerKey
    self.channel = channel
    self.cartId = cartId
    self.items = items
    self.total = total
    self.lastActivityAt = lastActivityAt
  }
}

/// A shopper reviewed a product.
public struct ReviewSubmitted: EventPayload {
  /// `review.submitted.v1`.
  public static let eventType = "review.submitted.v1"

  /// The identity the channel knows the shopper by (an anonymous id on the web).
  public var identity: CustomerIdentity
  /// The customer key, once the profile service has resolved the identity.
  public var customerKey: String?
  /// Where the review was written.
  public var channel: Channel
  /// The review.
  public var reviewId: String
  /// The product reviewed.
  public var sku: String
  /// Stars, 1 to 5.
  public var rating: Int
  /// The review's title.
  public var title: String?
  /// The review's text.
  public var body: String?

  /// Creates the payload.
  public init(
    identity: CustomerIdentity, customerKey: String? = nil, channel: Channel, reviewId: String, sku: String,
    rating: Int, title: String? = nil, body: String? = nil
  ) {
    self.identity = identity
    self.customerKey = customerKey
    self.channel = channel
    self.reviewId = reviewId
    self.sku = sku
    self.rating = rating
    self.title = title
    self.body = body
  }
}

/// A shopper met a campaign: saw it, opened it, clicked it or scanned it, on any channel.
public struct CampaignTouched: EventPayload {
  /// `campaign.touched.v1`.
  public static let eventType = "campaign.touched.v1"

  /// Kinds of contact with a campaign.
  public enum Touch: String, CaseIterable, Codable, Sendable {
    /// Shown (ad, banner, TV spot).
    case impression
    /// Opened (email, push).
    case open
    /// Clicked through.
    case click
    /// A printed or on-screen code scanned.
    case scan
  }

  /// The identity the channel knows the shopper by (an anonymous id on the web).
  public var identity: CustomerIdentity
  /// The customer key, once the profile service has resolved the identity.
  public var customerKey: String?
  /// Where the touch happened (`tv` for a spot's QR code, `email`, …).
  public var channel: Channel
  /// The campaign.
  public var campaignId: String
  /// What kind of touch.
  public var touch: Touch
  /// The offer code carried by the campaign, if any.
  public var offerCode: String?

  /// Creates the payload.
  public init(
    identity: CustomerIdentity, customerKey: String? = nil, channel: Channel, campaignId: String,
    touch: Touch, offerCode: String? = nil
  ) {
    self.identity = identity
    self.customerKey = customerKey
    self.channel = channel
    self.campaignId = campaignId
    self.touch = touch
    self.offerCode = offerCode
  }
}
