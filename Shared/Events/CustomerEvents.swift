import Foundation

// Payloads of the profile service's customer.* events.

/// A shopper presented identities on a channel (sign-up, login, loyalty card at a till) and was
/// resolved to a customer; all identities listed are now linked to `customerKey`.
public struct CustomerIdentified: EventPayload {
  /// `customer.identified.v1`.
  public static let eventType = "customer.identified.v1"

  /// The customer key (Passerelle's id for the customer, the partition key).
  public var customerKey: String
  /// The identities presented together, now linked.
  public var identities: [CustomerIdentity]
  /// Where the shopper identified.
  public var channel: Channel
  /// The store, when identified in one.
  public var storeId: String?
  /// Whether this created the customer (rather than matching an existing one).
  public var isNewCustomer: Bool

  /// Creates the payload.
  public init(
    customerKey: String, identities: [CustomerIdentity], channel: Channel, storeId: String? = nil,
    isNewCustomer: Bool
  ) {
    self.customerKey = customerKey
    self.identities = identities
    self.channel = channel
    self.storeId = storeId
    self.isNewCustomer = isNewCustomer
  }
}

/// Two or more customers turned out to be one person and were merged into a survivor.
///
/// Merges are deterministic (the oldest customer survives) and lose no history: events keyed by a
/// merged key belong to `customerKey` from now on.
public struct CustomerMerged: EventPayload {
  /// `customer.merged.v1`.
  public static let eventType = "customer.merged.v1"

  /// The surviving customer key.
  public var customerKey: String
  /// The keys merged into the survivor; they are retired.
  public var mergedCustomerKeys: [String]
  /// The identity shared by the merged customers that triggered the merge.
  public var matchedIdentity: CustomerIdentity
  /// Why, for people: the rule and evidence, e.g. `same email on loyalty card and web account`.
  public var explanation: String

  /// Creates the payload.
  public init(
    customerKey: String, mergedCustomerKeys: [String], matchedIdentity: CustomerIdentity, explanation: String
  ) {
    self.customerKey = customerKey
    self.mergedCustomerKeys = mergedCustomerKeys
    self.matchedIdentity = matchedIdentity
    self.explanation = explanation
  }
}

/// A customer gave or withdrew consent for one channel and purpose.
public struct CustomerConsentChanged: EventPayload {
  /// `customer.consent.changed.v1`.
  public static let eventType = "customer.consent.changed.v1"

  /// The customer key (Passerelle's id for the customer, the partition key).
  public var customerKey: String
  /// The new consent state, with its source and date.
  public var consent: Consent
  /// The previous state, if there was one.
  public var previouslyGranted: Bool?

  /// Creates the payload.
  public init(customerKey: String, consent: Consent, previouslyGranted: Bool? = nil) {
    self.customerKey = customerKey
    self.consent = consent
    self.previouslyGranted = previouslyGranted
  }
}

/// Profile attributes changed. Carries field names and non-personal preferences only; personal data
/// (names, addresses) stays in the profile service and is read through its query API.
public struct CustomerProfileUpdated: EventPayload {
  /// `customer.profile.updated.v1`.
  public static let eventType = "customer.profile.updated.v1"

  /// The customer key (Passerelle's id for the customer, the partition key).
  public var customerKey: String
  /// Names of the profile fields that changed, e.g. `firstName`, `preferredStoreId`.
  public var changedFields: [String]
  /// The channel the customer prefers to be contacted on, if set.
  public var preferredChannel: Channel?
  /// The customer's preferred store, if set.
  public var preferredStoreId: String?
  /// BCP 47 locale, e.g. `fr-FR`.
  public var locale: String?
  /// IANA time zone, e.g. `Europe/Paris` (used for quiet hours).
  public var timeZone: String?
  /// Loyalty tier, e.g. `gold`.
  public var loyaltyTier: String?

  /// Creates the payload.
  public init(
    customerKey: String, changedFields: [String], preferredChannel: Channel? = nil,
    preferredStoreId: String? = nil, locale: String? = nil, timeZone: String? = nil,
    loyaltyTier: String? = nil
  ) {
    self.customerKey = customerKey
    self.changedFields = changedFields
    self.preferredChannel = preferredChannel
    self.preferredStoreId = preferredStoreId
    self.locale = locale
    self.timeZone = timeZone
    self.loyaltyTier = loyaltyTier
  }
}

/// A customer entered a marketing segment (campaigns target segments).
public struct CustomerSegmentEntered: EventPayload {
  /// `customer.segment.entered.v1`.
  public static let eventType = "customer.segment.entered.v1"

  /// The customer key (Passerelle's id for the customer, the partition key).
  public var customerKey: String
  /// The segment's stable id.
  public var segmentId: String
  /// The segment's display name.
  public var segmentName: String
  /// What made the customer qualify, if known.
  public var reason: String?

  /// Creates the payload.
  public init(customerKey: String, segmentId: String, segmentName: String, reason: String? = nil) {
    self.customerKey = customerKey
    self.segmentId = segmentId
    self.segmentName = segmentName
    self.reason = reason
  }
}

/// A customer asked to be forgotten (GDPR art. 17); every service must erase their personal data.
public struct CustomerErasureRequested: EventPayload {
  /// `customer.erasure.requested.v1`.
  public static let eventType = "customer.erasure.requested.v1"

  /// The customer key (Passerelle's id for the customer, the partition key).
  public var customerKey: String
  /// The request's id, echoed by `customer.erased.v1`.
  public var requestId: String
  /// Where the request was made.
  public var channel: Channel
  /// When the customer made the request (the legal clock starts here).
  public var requestedAt: Date

  /// Creates the payload.
  public init(customerKey: String, requestId: String, channel: Channel, requestedAt: Date) {
    self.customerKey = customerKey
    self.requestId = requestId
    self.channel = channel
    self.requestedAt = requestedAt
  }
}

/// The profile service erased a customer's personal data. Other services must erase theirs; records
/// the law requires to keep (receipts) stay under `pseudonym`.
public struct CustomerErased: EventPayload {
  /// `customer.erased.v1`.
  public static let eventType = "customer.erased.v1"

  /// The customer key (Passerelle's id for the customer, the partition key).
  public var customerKey: String
  /// The erasure request this completes.
  public var requestId: String
  /// The pseudonymous id that replaces the customer key in kept records.
  public var pseudonym: String
  /// SHA-256 (hex) of each erased normalised identity, kept so the person is not re-created or contacted.
  public var suppressedIdentityHashes: [String]

  /// Creates the payload.
  public init(customerKey: String, requestId: String, pseudonym: String, suppressedIdentityHashes: [String]) {
    self.customerKey = customerKey
    self.requestId = requestId
    self.pseudonym = pseudonym
    self.suppressedIdentityHashes = suppressedIdentityHashes
  }
}
