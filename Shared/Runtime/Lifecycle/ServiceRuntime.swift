public import Foundation
public import Hummingbird
public import Logging
public import Prometheus
public import ServiceLifecycle
import UnixSignals

/// Runs a service: its own `Service`s plus the health and metrics HTTP server, in one `ServiceGroup`
/// that drains on SIGTERM or SIGINT.
///
/// On SIGTERM (or when the parent named by `PASSERELLE_PARENT_PID` exits), readiness turns not ready first, then the services see `gracefulShutdown()` and drain
/// in reverse order, then the HTTP server stops; after the grace period the rest is cancelled.
/// `run` logs `drained` and returns, so the process exits 0.
public struct ServiceRuntime: Sendable {
  /// The resolved common settings.
  public let configuration: RuntimeConfiguration
  /// The environment service-specific settings are resolved against.
  public let environment: [String: String]
  /// The service's logger, labelled with the service name.
  public let logger: Logger
  /// The flag behind `/health/ready`; mark it ready once the service can take traffic.
  public let readiness: Readiness
  /// The registry `/metrics` exposes.
  public let registry: PrometheusCollectorRegistry
  /// SIGTERM and SIGINT, watched since ``bootstrap(_:readiness:environment:)`` (`nil`: the
  /// service group watches them once it runs).
  private let stopSignals: StopSignals?

  /// Creates a runtime without touching process-wide state (for tests and embedding).
  public init(
    configuration: RuntimeConfiguration,
    environment: [String: String] = [:],
    logger: Logger,
    registry: PrometheusCollectorRegistry,
    readiness: Readiness = Readiness()
  ) {
    self.init(
      configuration: configuration, environment: environment, logger: logger, registry: registry,
      readiness: readiness, stopSignals: nil)
  }

  private init(
    configuration: RuntimeConfiguration, environment: [String: String], logger: Logger,
    registry: PrometheusCollectorRegistry, readiness: Readiness, stopSignals: StopSignals?
  ) {
    self.configuration = configuration
    self.environment = environment
    self.logger = logger
    self.registry = registry
    self.readiness = readiness
    self.stopSignals = stopSignals
  }

  /// Resolves `options`, then bootstraps logging and metrics for the process, and starts watching
  /// SIGTERM and SIGINT (``StopSignals``): one that comes while the service opens its storage ends
  /// the process at once with status 0.
  ///
  /// - Throws: `ExitCode` 78 after printing one line on stderr if a setting is invalid.
  public static func bootstrap<Defaults>(
    _ options: RuntimeOptions<Defaults>,
    readiness: Readiness = Readiness(),
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> ServiceRuntime {
    let configuration: RuntimeConfiguration
    do {
      configuration = try options.resolve(environment: environment)
    } catch {
      throw Runtime.report(error, service: Defaults.service)
    }
    Runtime.bootstrapLogging(
      service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
    return ServiceRuntime(
      configuration: configuration,
      environment: environment,
      logger: Logger(label: configuration.service),
      registry: Runtime.metricsRegistry,
      readiness: readiness,
      stopSignals: StopSignals(logger: Logger(label: configuration.service))
    )
  }

  /// Resolves a service-specific setting from `flag` or this runtime's environment.
  ///
  /// - Throws: `ExitCode` 78 after printing one line on stderr if the value is invalid.
  public func setting<Value>(_ setting: Setting<Value>, flag: String?) throws -> Value {
    do {
      return try setting.resolve(flag: flag, environment: self.environment)
    } catch {
      throw Runtime.report(error, service: self.configuration.service)
    }
  }

  /// The HTTP application: health and metrics routes plus those `routes` adds.
  public func makeApplication(
    routes: (Router<BasicRequestContext>) -> Void = { _ in }
  ) -> Application<RouterResponder<BasicRequestContext>> {
    let router = HealthRouter.make(readiness: self.readiness, registry: self.registry)
    routes(router)
    return Application(
      router: router,
      configuration: ApplicationConfiguration(
        address: .hostname(self.configuration.httpHost, port: self.configuration.httpPort)),
      logger: self.logger
    )
  }

  /// Runs `services` and the HTTP server until SIGTERM or SIGINT has drained them all, or one fails.
  ///
  /// - Parameters:
  ///   - services: The service's own work, started in order and drained in reverse order.
  ///   - routes: Adds the service's own HTTP routes next to health and metrics.
  public func run(
    services: [any Service],
    routes: (Router<BasicRequestContext>) -> Void = { _ in }
  ) async throws {
    var members: [ServiceGroupConfiguration.ServiceConfiguration] =
      ([self.makeApplication(routes: routes)] + services).map { .init(service: $0) }
    if let parent = self.configuration.parentPID {
      members.append(
        .init(
          service: ParentWatch(parent: parent, logger: self.logger),
          successTerminationBehavior: .gracefullyShutdownGroup))
    }
    members.append(.init(service: ShutdownNotice(readiness: self.readiness, logger: self.logger)))
    var group = ServiceGroupConfiguration(
      services: members, gracefulShutdownSignals: stopSignals == nil ? [.sigterm, .sigint] : [],
      logger: self.logger)
    if let problem = HTTPAddressCheck.problem(
      host: self.configuration.httpHost, port: self.configuration.httpPort)
    {
      throw Runtime.report(problem, service: self.configuration.service)
    }
    group.maximumGracefulShutdownDuration = self.configuration.shutdownGracePeriod
    self.logger.info(
      "starting",
      metadata: [
        "http.host": "\(self.configuration.httpHost)", "http.port": "\(self.configuration.httpPort)",
      ])
    do {
      if let stopSignals {
        try await stopSignals.run(ServiceGroup(configuration: group))
      } else {
        try await ServiceGroup(configuration: group).run()
      }
    } catch {
      self.logger.error("stopped on error", metadata: ["error": "\(error)"])
      throw error
    }
    // The group cancels what is still running once the grace period is over, and returns as if
    // all had drained: tell the two apart.
    if let began = self.readiness.shutdownBegan,
      ContinuousClock.now - began >= self.configuration.shutdownGracePeriod
    {
      self.logger.warning(
        "drain cut short: the grace period ran out and what was still running was cancelled",
        metadata: ["grace.seconds": "\(self.configuration.shutdownGracePeriod.components.seconds)"])
    } else {
      self.logger.info("drained")
    }
  }
}
