import Foundation

/// A customer's consent (or its withdrawal) to be contacted on one channel for one purpose.
public struct Consent: Codable, Sendable, Hashable {
  /// Why the retailer wants to contact the customer; consent is recorded per purpose.
  public enum Purpose: String, CaseIterable, Codable, Sendable {
    /// Offers, newsletters, campaigns (EU: prior opt-in for email and SMS).
    case marketing
    /// Service messages about an order or account ("your order is ready").
    case transactional
    /// Personalisation and recommendations from the customer's history.
    case personalisation
  }

  /// The channel the consent covers.
  public var channel: Channel
  /// The purpose it covers.
  public var purpose: Purpose
  /// Whether consent is given (`false` for a withdrawal, e.g. an SMS "STOP").
  public var granted: Bool
  /// Where it was collected, e.g. `web-newsletter-form`, `till`, `sms-stop`, `soft-opt-in-purchase`.
  public var source: String
  /// When the customer gave or withdrew it.
  public var at: Date

  /// Creates a consent record.
  public init(channel: Channel, purpose: Purpose, granted: Bool, source: String, at: Date) {
    self.channel = channel
    self.purpose = purpose
    self.granted = granted
    self.source = source
    self.at = at
  }
}
