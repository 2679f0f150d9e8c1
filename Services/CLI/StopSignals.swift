import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGTERM and SIGINT for a command that opens a database before it runs its services: watched
/// from the moment this is made, so that a signal during the start (migrations, connecting) stops
/// the command cleanly (exit 0, nothing started) instead of killing it, and one during
/// ``run(_:logger:)`` drains the services.
final class StopSignals: Sendable {
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

  init() {
    let shared = self.shared
    watcher = Task {
      for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
        let group = shared.state.withLock { state in
          state.stopped = true
          return state.group
        }
        await group?.triggerGracefulShutdown()
      }
    }
  }

  deinit {
    watcher.cancel()
  }

  /// Runs `services` until a signal has drained them (or one ends); returns at once if a signal
  /// came before.
  func run(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(configuration: .init(services: services, logger: logger))
    let stopped = shared.state.withLock { state in
      state.group = group
      return state.stopped
    }
    guard !stopped else { return }
    try await group.run()
  }
}
