/// The registry of every event type this schema defines, from the `type` string to its payload.
public enum EventCatalogue {
  /// Every payload type, one per versioned event type.
  public static let payloadTypes: [any EventPayload.Type] = [
    CustomerIdentified.self, CustomerMerged.self, CustomerConsentChanged.self, CustomerProfileUpdated.self,
    CustomerSegmentEntered.self, CustomerErasureRequested.self, CustomerErased.self,
    ProductViewed.self, CartUpdated.self, CartAbandoned.self, ReviewSubmitted.self, CampaignTouched.self,
    OrderPlaced.self, OrderReadyForPickup.self, OrderCollected.self,
    PosPurchaseCompleted.self, PosPurchaseReturned.self,
    CouponIssued.self, CouponRedeemed.self, CouponRejected.self,
    RecommendationComputed.self,
    NotificationRequested.self, NotificationSent.self, NotificationDelivered.self, NotificationFailed.self,
    NotificationSuppressed.self,
  ]

  private static let payloadTypesByEventType: [String: any EventPayload.Type] = Dictionary(
    uniqueKeysWithValues: payloadTypes.map { ($0.eventType, $0) })

  /// The payload type for an event `type` such as `order.placed.v1`, or `nil` if it is not in the catalogue.
  public static func payloadType(for type: String) -> (any EventPayload.Type)? {
    payloadTypesByEventType[type]
  }

  /// Decodes an event's `data` as the payload its `type` names.
  ///
  /// Fails on field `"type"` for a type outside the catalogue, otherwise as `CloudEvent.payload(as:)`.
  public static func payload(of event: CloudEvent) throws(EventDecodingError) -> any EventPayload {
    guard let payloadType = payloadType(for: event.type) else {
      throw EventDecodingError(field: "type", reason: .invalid("unknown event type \"\(event.type)\""))
    }
    return try decode(event, as: payloadType)
  }

  private static func decode<Payload: EventPayload>(_ event: CloudEvent, as payloadType: Payload.Type)
    throws(EventDecodingError) -> any EventPayload
  {
    try event.payload(as: payloadType)
  }
}
