import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGTERM and SIGINT for a process that opens a database before it runs its services: watched
/// from the moment this is made, so that a signal during the start (connecting, migrations) ends
/// the process at once with status 0 (nothing has started, nothing was acknowledged, and an
/// unfinished migration is a transaction the database rolls back) instead of killing it or, as
/// PID 1 in a container, being ignored until SIGKILL; one during ``run(_:)`` drains the services.
public final class StopSignals: Sendable {
  private struct State {
    var stopped = false
    var group: ServiceGroup?
  }

  /// Shared with the watching task.
  private final class Shared: Sendable {
    let state = Mutex(State())
  }

  private let shared = Shared()
  private let watcher: Task<Void, Never>

  /// Starts watching SIGTERM and SIGINT; `logger` tells of a stop during the start.
  public init(logger: Logger) {
    let shared = self.shared
    watcher = Task {
      for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
        let group = shared.state.withLock { state in
          state.stopped = true
          return state.group
        }
        guard let group else {
          logger.info("stopped while starting: nothing to drain")
          exit(0)
        }
        await group.triggerGracefulShutdown()
      }
    }
  }

  deinit {
    watcher.cancel()
  }

  /// Runs `group` until a signal has drained it (or it ends); returns at once, without running it,
  /// if a signal came before.
  public func run(_ group: ServiceGroup) async throws {
    let stopped = shared.state.withLock { state in
      state.group = group
      return state.stopped
    }
    guard !stopped else { return }
    try await group.run()
  }

  /// Runs `services` in a group of their own, as ``run(_:)`` does.
  public func run(_ services: [any Service], logger: Logger) async throws {
    try await run(ServiceGroup(configuration: .init(services: services, logger: logger)))
  }
}
