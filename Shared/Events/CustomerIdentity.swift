/// One way a customer is known to a channel, e.g. an email address or a loyalty card number.
///
/// The profile service joins identities into one customer key through its identity graph. Values are
/// personal data: logs must hash or mask them.
public struct CustomerIdentity: Codable, Sendable, Hashable {
  /// The kinds of identity the identity graph links.
  public enum Kind: String, CaseIterable, Codable, Sendable {
    /// A cookie or SDK-generated id for a visitor not yet known.
    case anonymousId
    /// An email address, lowercased.
    case email
    /// A phone number in E.164 form (`+33612345678`).
    case phone
    /// A loyalty card number.
    case loyaltyCard
    /// A device id (push token owner, app install).
    case device
    /// The retailer's own customer number (CRM, e-commerce account).
    case customerNumber
  }

  /// What kind of identity this is.
  public var kind: Kind
  /// The identity itself, normalised (lowercased email, E.164 phone).
  public var value: String

  /// Creates an identity.
  public init(kind: Kind, value: String) {
    self.kind = kind
    self.value = value
  }
}
