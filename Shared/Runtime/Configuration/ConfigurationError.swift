/// A configuration value that cannot be used, with what a reader needs to fix it.
///
/// `description` is one line: `PASSERELLE_HTTP_PORT="abc": not a port number (0-65535)`.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The environment variable (`PASSERELLE_HTTP_PORT`) or flag (`--http-port`) the value came from.
  public var variable: String
  /// The rejected value as given, or `<redacted>` for a secret setting.
  public var value: String
  /// What is wrong with the value, e.g. `not a port number (0-65535)`.
  public var reason: String

  /// Creates an error for `variable` holding `value`.
  public init(variable: String, value: String, reason: String) {
    self.variable = variable
    self.value = value
    self.reason = reason
  }

  /// One line: the variable, the quoted value and the reason.
  public var description: String {
    "\(self.variable)=\(String(reflecting: self.value)): \(self.reason)"
  }

  /// The line a service prints on stderr before exiting: `passerelle-bus: PASSERELLE_HTTP_PORT="abc": …`.
  public func message(service: String) -> String {
    "\(service): \(self)"
  }
}
