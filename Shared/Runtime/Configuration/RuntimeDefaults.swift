/// What differs between services in the common options: the service's name and its HTTP port.
///
/// ```swift
/// enum BusDefaults: RuntimeDefaults {
///   static let service = "passerelle-bus"
///   static let httpPort = 8081
/// }
/// ```
public protocol RuntimeDefaults: Sendable {
  /// The service name, as in logs (`"service":"passerelle-bus"`) and error lines.
  static var service: String { get }
  /// The default port of the health and metrics server; 0 means any free port.
  static var httpPort: Int { get }
}
