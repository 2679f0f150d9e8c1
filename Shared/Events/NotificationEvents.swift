import Foundation

// Payloads of the notification service: one request, then one outcome per attempt and channel.

/// A service asks to tell a customer something; the notification service renders it per channel,
/// checks consent, quiet hours and caps at send time, and falls back along `channels`.
public struct NotificationRequested: EventPayload {
  /// `notification.requested.v1`.
  public static let eventType = "notification.requested.v1"

  /// The request's id, also its idempotency key; every outcome event repeats it.
  public var notificationId: String
  /// The customer (the partition key).
  public var customerKey: String
  /// Marketing or transactional: decides which consent, quiet hours and caps apply.
  public var purpose: Consent.Purpose
  /// The message template, e.g. `order-ready-for-pickup`.
  public var template: String
  /// Channels to try, in order of preference (`[push, sms]` falls back to SMS).
  public var channels: [Channel]
  /// Values the template fills in (order id, store name, offer code).
  public var variables: [String: String]
  /// The campaign, for marketing messages.
  public var campaignId: String?
  /// Do not send before this instant.
  public var notBefore: Date?

  /// Creates the payload.
  public init(
    notificationId: String, customerKey: String, purpose: Consent.Purpose, template: String,
    channels: [Channel], variables: [String: String], campaignId: String? = nil, notBefore: Date? = nil
  ) {
    self.notificationId = notificationId
    self.customerKey = customerKey
    self.purpose = purpose
    self.template = template
    self.channels = channels
    self.variables = variables
    self.campaignId = campaignId
    self.notBefore = notBefore
  }
}

/// A provider accepted the message for one channel.
public struct NotificationSent: EventPayload {
  /// `notification.sent.v1`.
  public static let eventType = "notification.sent.v1"

  /// The request's id, also its idempotency key; every outcome event repeats it.
  public var notificationId: String
  /// The customer (the partition key).
  public var customerKey: String
  /// The channel used.
  public var channel: Channel
  /// The provider, e.g. `smtp`, `sms-http`, `push-http`.
  public var provider: String
  /// The provider's id for the message.
  public var providerMessageId: String?
  /// Attempt number, starting at 1.
  public var attempt: Int

  /// Creates the payload.
  public init(
    notificationId: String, customerKey: String, channel: Channel, provider: String,
    providerMessageId: String? = nil, attempt: Int
  ) {
    self.notificationId = notificationId
    self.customerKey = customerKey
    self.channel = channel
    self.provider = provider
    self.providerMessageId = providerMessageId
    self.attempt = attempt
  }
}

/// The provider reported delivery to the customer's device or mailbox.
public struct NotificationDelivered: EventPayload {
  /// `notification.delivered.v1`.
  public static let eventType = "notification.delivered.v1"

  /// The request's id, also its idempotency key; every outcome event repeats it.
  public var notificationId: String
  /// The customer (the partition key).
  public var customerKey: String
  /// The channel.
  public var channel: Channel
  /// The provider's id for the message.
  public var providerMessageId: String?

  /// Creates the payload.
  public init(notificationId: String, customerKey: String, channel: Channel, providerMessageId: String? = nil)
  {
    self.notificationId = notificationId
    self.customerKey = customerKey
    self.channel = channel
    self.providerMessageId = providerMessageId
  }
}

/// An attempt on one channel failed.
public struct NotificationFailed: EventPayload {
  /// `notification.failed.v1`.
  public static let eventType = "notification.failed.v1"

  /// The request's id, also its idempotency key; every outcome event repeats it.
  public var notificationId: String
  /// The customer (the partition key).
  public var customerKey: String
  /// The channel that failed.
  public var channel: Channel
  /// Attempt number, starting at 1.
  public var attempt: Int
  /// What the provider said (no personal data).
  public var error: String
  /// Whether the same channel will be retried.
  public var willRetry: Bool
  /// When the retry is due, if `willRetry`.
  public var retryAt: Date?
  /// The next channel tried instead, if any.
  public var fallbackChannel: Channel?

  /// Creates the payload.
  public init(
    notificationId: String, customerKey: String, channel: Channel, attempt: Int, error: String,
    willRetry: Bool, retryAt: Date? = nil, fallbackChannel: Channel? = nil
  ) {
    self.notificationId = notificationId
    self.customerKey = customerKey
    self.channel = channel
    self.attempt = attempt
    self.error = error
    self.willRetry = willRetry
    self.retryAt = retryAt
    self.fallbackChannel = fallbackChannel
  }
}

/// A message was not sent, on purpose; every suppression says why.
public struct NotificationSuppressed: EventPayload {
  /// `notification.suppressed.v1`.
  public static let eventType = "notification.suppressed.v1"

  /// Why a message was not sent.
  public enum Reason: String, CaseIterable, Codable, Sendable {
    /// No consent for this channel and purpose (or consent withdrawn).
    case noConsent
    /// Inside quiet hours in the customer's time zone and not deferrable.
    case quietHours
    /// The cross-channel marketing cap is reached.
    case frequencyCap
    /// No email, phone or device for any requested channel.
    case noAddress
    /// The customer is erased or on the suppression list.
    case erased
    /// The same notification id was already handled.
    case duplicate
    /// Too late to be useful (e.g. the order was already collected).
    case expired
  }

  /// The request's id, also its idempotency key; every outcome event repeats it.
  public var notificationId: String
  /// The customer (the partition key).
  public var customerKey: String
  /// The channel suppressed, or none when the whole request was.
  public var channel: Channel?
  /// Why it was not sent.
  public var reason: Reason
  /// More for operators, e.g. the cap reached or the quiet-hours window.
  public var detail: String?

  /// Creates the payload.
  public init(
    notificationId: String, customerKey: String, channel: Channel? = nil, reason: Reason,
    detail: String? = nil
  ) {
    self.notificationId = notificationId
    self.customerKey = customerKey
    self.channel = channel
    self.reason = reason
    self.detail = detail
  }
}
