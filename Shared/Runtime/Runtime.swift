public import ArgumentParser
import Foundation
public import Logging
import Metrics
public import Prometheus
import Synchronization

/// Process-wide set-up shared by every service: logging, metrics and configuration errors.
public enum Runtime {
  private static let loggingBootstrapped = Mutex(false)

  /// Makes swift-log write `format` lines for `service` at `level` and above to stderr.
  ///
  /// swift-log accepts one bootstrap per process: the first call wins and later calls do nothing.
  public static func bootstrapLogging(service: String, level: Logger.Level, format: LogFormat) {
    let first = Self.loggingBootstrapped.withLock { done in
      defer { done = true }
      return !done
    }
    guard first else { return }
    LoggingSystem.bootstrap { label in
      var handler: any LogHandler =
        switch format {
        case .json: JSONLogHandler(service: service)
        case .text: StreamLogHandler.standardError(label: label)
        }
      handler.logLevel = level
      return handler
    }
  }

  /// The registry behind swift-metrics, for `/metrics`.
  ///
  /// The first use creates the registry and makes a `PrometheusMetricsFactory` over it the
  /// `MetricsSystem` factory, once per process; every `Counter`, `Gauge` and `Timer` then lands here.
  public static var metricsRegistry: PrometheusCollectorRegistry { Self.bootstrappedRegistry }

  private static let bootstrappedRegistry: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(metricsFactory(registry: registry))
    return registry
  }()

  /// The swift-metrics factory over `registry` that services use: Prometheus, with `Timer`
  /// histograms from 100 µs to 10 s (swift-prometheus's own start at 5 ms, and a commit, an fsync
  /// or a request of these services usually takes well under that).
  public static func metricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets =
      [100, 250, 500].map { .microseconds($0) }
      + [1, 2, 5, 10, 25, 50, 100, 250, 500].map { .milliseconds($0) } + [1, 2, 5, 10].map { .seconds($0) }
    return factory
  }

  /// Prints `error` as one line on stderr, prefixed by `service`, and returns the exit code to throw
  /// (`EX_CONFIG`, 78), which ends an `ArgumentParser` command without further output.
  public static func report(_ error: ConfigurationError, service: String) -> ExitCode {
    FileHandle.standardError.write(Data((error.message(service: service) + "\n").utf8))
    return ExitCode(78)
  }
}
