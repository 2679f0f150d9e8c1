import Crypto

/// Masks and hashes personal data so that logs never show it in clear.
///
/// ```swift
/// logger.info("consent recorded", metadata: ["email": "\(Redact.email(email))", "customer": "\(Redact.hash(email))"])
/// ```
public enum Redact {
  /// `jane.doe@example.com` → `j***@example.com`: the first character and the domain stay.
  public static func email(_ email: String) -> String {
    guard let at = email.lastIndex(of: "@"), at > email.startIndex else { return "***" }
    return String(email[email.startIndex]) + "***" + email[at...]
  }

  /// `+33 6 12 34 56 78` → `***78`: only the last two digits stay.
  public static func phone(_ phone: String) -> String {
    let digits = phone.filter(\.isNumber)
    return "***" + digits.suffix(digits.count > 4 ? 2 : 0)
  }

  /// The first 12 hex digits of the SHA-256 of `value`: the same input always gives the same
  /// pseudonym, so log lines about one customer can be correlated without naming them.
  public static func hash(_ value: String) -> String {
    SHA256.hash(data: Array(value.utf8)).prefix(6).map { byte in
      (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }.joined()
  }
}
