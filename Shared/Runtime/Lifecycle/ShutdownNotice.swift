import Logging
import ServiceLifecycle

/// The service run last in the group, so shut down first: on SIGTERM it flips readiness to
/// not ready before the other services start draining.
struct ShutdownNotice: Service {
  let readiness: Readiness
  let logger: Logger

  func run() async throws {
    try? await gracefulShutdown()
    self.readiness.beginShutdown()
    self.logger.info("shutting down: not ready, draining")
  }
}
