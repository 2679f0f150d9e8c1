public import Logging

/// The common settings of a service, resolved from flags, environment and defaults.
public struct RuntimeConfiguration: Sendable, Equatable {
  /// The service name, e.g. `passerelle-bus`.
  public var service: String
  /// The address the health and metrics server binds.
  public var httpHost: String
  /// The port of the health and metrics server; 0 means any free port.
  public var httpPort: Int
  /// The lowest level logged.
  public var logLevel: Logger.Level
  /// How log lines are written.
  public var logFormat: LogFormat
  /// How long services may drain after SIGTERM before they are cancelled.
  public var shutdownGracePeriod: Duration
  /// The process whose exit makes the service drain and exit (`nil`: none).
  public var parentPID: Int32?

  /// Creates a configuration; the defaults are those of the options.
  public init(
    service: String,
    httpHost: String = "127.0.0.1",
    httpPort: Int = 0,
    logLevel: Logger.Level = .info,
    logFormat: LogFormat = .json,
    shutdownGracePeriod: Duration = .seconds(10),
    parentPID: Int32? = nil
  ) {
    self.service = service
    self.httpHost = httpHost
    self.httpPort = httpPort
    self.logLevel = logLevel
    self.logFormat = logFormat
    self.shutdownGracePeriod = shutdownGracePeriod
    self.parentPID = parentPID
  }
}
