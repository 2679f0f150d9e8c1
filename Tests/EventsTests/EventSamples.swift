import Foundation
import PasserelleEvents

/// One realistic payload per event type, and the golden events built from them.
enum EventSamples {
  static let customerKey = "cus_01JD8Z4K7QF3W2"
  static let eventTime = Date(timeIntervalSince1970: 1_795_514_400.123)  // 2026-11-24T10:00:00.123Z
  static let consentTime = Date(timeIntervalSince1970: 1_795_269_900)  // 2026-11-21T14:05:00Z
  static let email = CustomerIdentity(kind: .email, value: "camille.martin@example.fr")
  static let anonymous = CustomerIdentity(kind: .anonymousId, value: "anon-5b1f0c2e")
  static let loyalty = CustomerIdentity(kind: .loyaltyCard, value: "2900012345678")
  static let bike = LineItem(
    sku: "VTT-ROCKRIDER-XC100-M", quantity: 1, unitPrice: Money(amountMinor: 129_900, currency: "EUR"))
  static let helmet = LineItem(
    sku: "HELMET-MTB-500-L", quantity: 1, unitPrice: Money(amountMinor: 4_999, currency: "EUR"),
    discount: Money(amountMinor: 500, currency: "EUR"))
  static let till = PosTransactionKey(
    storeId: "store-0042", workstationId: "till-03", businessDay: "2026-11-24", sequenceNumber: 1187)

  /// Every payload, one per catalogue entry.
  static let payloads: [any EventPayload] = customer + engagement + commerce + coupons + messaging

  static let customer: [any EventPayload] = [
    CustomerIdentified(
      customerKey: customerKey, identities: [loyalty, email], channel: .store, storeId: "store-0042",
      isNewCustomer: false),
    CustomerMerged(
      customerKey: customerKey, mergedCustomerKeys: ["cus_01JD9A0000XYZ"], matchedIdentity: email,
      explanation: "same email on loyalty card 2900012345678 and web account"),
    CustomerConsentChanged(
      customerKey: customerKey,
      consent: Consent(
        channel: .email, purpose: .marketing, granted: true, source: "web-newsletter-form", at: consentTime),
      previouslyGranted: nil),
    CustomerProfileUpdated(
      customerKey: customerKey, changedFields: ["preferredStoreId", "timeZone"], preferredChannel: .email,
      preferredStoreId: "store-0042", locale: "fr-FR", timeZone: "Europe/Paris", loyaltyTier: "silver"),
    CustomerSegmentEntered(
      customerKey: customerKey, segmentId: "seg-mtb-riders", segmentName: "Mountain bike riders",
      reason: "viewed 3 mountain bikes and bought one"),
    CustomerErasureRequested(
      customerKey: customerKey, requestId: "era-2026-0007", channel: .web, requestedAt: consentTime),
    CustomerErased(
      customerKey: customerKey, requestId: "era-2026-0007", pseudonym: "pse_9c41d2",
      suppressedIdentityHashes: ["4c1f7c0e5d7a8b9f2e3d4c5b6a7980112233445566778899aabbccddeeff0011"]),
  ]

  static let engagement: [any EventPayload] = [
    ProductViewed(
      identity: anonymous, channel: .web, sku: "VTT-ROCKRIDER-XC100-M", categoryId: "bikes/mountain",
      price: Money(amountMinor: 129_900, currency: "EUR")),
    CartUpdated(
      identity: anonymous, customerKey: customerKey, channel: .web, cartId: "cart-77a1",
      items: [bike, helmet],
      total: Money(amountMinor: 134_399, currency: "EUR")),
    CartAbandoned(
      identity: anonymous, customerKey: customerKey, channel: .app, cartId: "cart-77a1", items: [helmet],
      total: Money(amountMinor: 4_499, currency: "EUR"), lastActivityAt: consentTime),
    ReviewSubmitted(
      identity: email, customerKey: customerKey, channel: .web, reviewId: "rev-310",
      sku: "VTT-ROCKRIDER-XC100-M", rating: 5,
      title: "Great first MTB", body: "Solid \"XC\" bike;\nfork could be softer. Très bien !"),
    CampaignTouched(
      identity: CustomerIdentity(kind: .device, value: "dev-ios-8841"), channel: .tv,
      campaignId: "cmp-winter-26",
      touch: .scan, offerCode: "HIVER26"),
  ]

  static let commerce: [any EventPayload] = [
    OrderPlaced(
      orderId: "ord-100234", customerKey: customerKey, channel: .web, fulfilment: .clickAndCollect,
      pickupStoreId: "store-0042", items: [helmet], total: Money(amountMinor: 4_499, currency: "EUR"),
      couponCodes: []),
    OrderReadyForPickup(
      orderId: "ord-100234", customerKey: customerKey, storeId: "store-0042", pickupCode: "K7Q2",
      holdUntil: Date(timeIntervalSince1970: 1_796_165_999)),
    OrderCollected(
      orderId: "ord-100234", customerKey: customerKey, storeId: "store-0042", workstationId: "till-03",
      associateId: "asc-118"),
    PosPurchaseCompleted(
      transaction: till, customerKey: customerKey, identity: loyalty, associateId: "asc-118", items: [bike],
      total: Money(amountMinor: 119_900, currency: "EUR"), couponCodes: ["SMS-10OFF-7Q3"]),
    PosPurchaseReturned(
      transaction: PosTransactionKey(
        storeId: "store-0017", workstationId: "till-01", businessDay: "2026-11-26", sequenceNumber: 88),
      originalTransaction: till, customerKey: customerKey, items: [helmet],
      refund: Money(amountMinor: 4_499, currency: "EUR"),
      reason: "wrong-size"),
  ]

  static let coupons: [any EventPayload] = [
    CouponIssued(
      couponCode: "SMS-10OFF-7Q3", campaignId: "cmp-winter-26", customerKey: customerKey, channel: .sms,
      amountOff: Money(amountMinor: 10_000, currency: "EUR"),
      minimumSpend: Money(amountMinor: 50_000, currency: "EUR"),
      validFrom: Date(timeIntervalSince1970: 1_794_297_600),
      validUntil: Date(timeIntervalSince1970: 1_796_165_999),
      singleUse: true),
    CouponRedeemed(
      couponCode: "SMS-10OFF-7Q3", customerKey: customerKey, channel: .store, transaction: till,
      discount: Money(amountMinor: 10_000, currency: "EUR")),
    CouponRejected(
      couponCode: "SMS-10OFF-7Q3", channel: .store, storeId: "store-0017",
      transaction: PosTransactionKey(
        storeId: "store-0017", workstationId: "till-02", businessDay: "2026-11-26", sequenceNumber: 12),
      reason: .alreadyRedeemed),
  ]

  static let messaging: [any EventPayload] = [
    RecommendationComputed(
      customerKey: customerKey, placement: "clienteling", channel: .store, storeId: "store-0042",
      items: [
        RecommendedItem(sku: "HELMET-MTB-500-L", score: 0.87, reason: "bought-together"),
        RecommendedItem(sku: "PUMP-FLOOR-900", score: 0.5, reason: "popular-in-store"),
      ],
      model: "cooccurrence-v1"),
    NotificationRequested(
      notificationId: "ntf-ord-100234-ready", customerKey: customerKey, purpose: .transactional,
      template: "order-ready-for-pickup", channels: [.push, .sms],
      variables: ["orderId": "ord-100234", "storeName": "Lyon Part-Dieu", "pickupCode": "K7Q2"]),
    NotificationSent(
      notificationId: "ntf-ord-100234-ready", customerKey: customerKey, channel: .sms, provider: "sms-http",
      providerMessageId: "SM8841", attempt: 1),
    NotificationDelivered(
      notificationId: "ntf-ord-100234-ready", customerKey: customerKey, channel: .sms,
      providerMessageId: "SM8841"),
    NotificationFailed(
      notificationId: "ntf-ord-100234-ready", customerKey: customerKey, channel: .push, attempt: 1,
      error: "device token unregistered", willRetry: false, fallbackChannel: .sms),
    NotificationSuppressed(
      notificationId: "ntf-cmp-winter-26-0091", customerKey: customerKey, channel: .sms, reason: .quietHours,
      detail: "Sunday in Europe/Paris; French marketing SMS window is Mon-Sat 08:00-20:00"),
  ]

  /// The golden event for a payload: fixed id, source, time and partition key.
  static func goldenEvent(_ payload: some EventPayload) throws -> CloudEvent {
    try CloudEvent(
      id: "golden-\(type(of: payload).eventType)", source: "/passerelle/tests", time: eventTime,
      partitionKey: customerKey, payload: payload)
  }
}
