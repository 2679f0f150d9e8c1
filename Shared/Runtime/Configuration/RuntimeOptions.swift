public import ArgumentParser
public import Foundation
import Logging

/// The options every Passerelle service accepts, for `@OptionGroup`.
///
/// Each flag overrides its `PASSERELLE_*` variable, which overrides the default;
/// `Defaults` gives the service's name and HTTP port so that `--help` shows the real default.
public struct RuntimeOptions<Defaults: RuntimeDefaults>: ParsableArguments {
  @Option(name: Setting.httpHost.name, help: Setting.httpHost.help)
  var httpHost: String?

  @Option(
    name: Setting.httpPort(default: Defaults.httpPort).name,
    help: Setting.httpPort(default: Defaults.httpPort).help)
  var httpPort: String?

  @Option(name: Setting.logLevel.name, help: Setting.logLevel.help)
  var logLevel: String?

  @Option(name: Setting.logFormat.name, help: Setting.logFormat.help)
  var logFormat: String?

  @Option(name: Setting.shutdownGraceSeconds.name, help: Setting.shutdownGraceSeconds.help)
  var shutdownGraceSeconds: String?

  @Option(name: Setting.parentPID.name, help: Setting.parentPID.help)
  var parentPID: String?

  /// Creates options with no flags given (required by `ParsableArguments`).
  public init() {}

  /// Resolves every option against `environment`.
  ///
  /// - Throws: ``ConfigurationError`` for the first flag or variable that does not parse.
  public func resolve(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(ConfigurationError) -> RuntimeConfiguration {
    RuntimeConfiguration(
      service: Defaults.service,
      httpHost: try Setting.httpHost.resolve(flag: self.httpHost, environment: environment),
      httpPort: try Setting.httpPort(default: Defaults.httpPort).resolve(
        flag: self.httpPort, environment: environment),
      logLevel: try Setting.logLevel.resolve(flag: self.logLevel, environment: environment),
      logFormat: try Setting.logFormat.resolve(flag: self.logFormat, environment: environment),
      shutdownGracePeriod: .seconds(
        try Setting.shutdownGraceSeconds.resolve(flag: self.shutdownGraceSeconds, environment: environment)),
      parentPID: try Setting.parentPID.resolve(flag: self.parentPID, environment: environment).map(Int32.init)
    )
  }
}
