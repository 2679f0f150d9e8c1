/// The closed list of channels a customer meets the retailer through, shared by every service.
///
/// Adding a channel is a schema change (see docs/EVENTS.md); decoding an unknown one fails with
/// `EventDecodingError.Reason.unknownChannel`.
public enum Channel: String, CaseIterable, Sendable, Codable {
  /// A physical store: till, associate, fitting room.
  case store
  /// The retailer's website.
  case web
  /// The retailer's mobile app.
  case app
  /// Email.
  case email
  /// SMS text message.
  case sms
  /// Mobile push notification.
  case push
  /// Telephone (call centre).
  case phone
  /// Postal mail.
  case mail
  /// Social networks and forums.
  case social
  /// Printed catalogue, including scanning its codes.
  case catalogue
  /// In-store kiosk.
  case kiosk
  /// Television (spots, shopping channels).
  case tv

  /// Decodes a channel, failing with a field-named `unknownChannel` error for values outside the list.
  public init(from decoder: any Decoder) throws {
    let value = try decoder.singleValueContainer().decode(String.self)
    guard let channel = Channel(rawValue: value) else {
      throw PayloadFieldError(
        codingPath: decoder.codingPath, reason: .unknownChannel(value))
    }
    self = channel
  }
}
