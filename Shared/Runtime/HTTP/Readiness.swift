import Synchronization

/// Whether a service should receive traffic: ready once every component is marked ready, and not
/// ready again from the moment shutdown begins.
///
/// Backs `GET /health/ready`; component names appear in its 503 body, so they must not contain personal data.
public final class Readiness: Sendable {
  private struct State {
    var pending: Set<String>
    var shuttingDown = false
    var shutdownBegan: ContinuousClock.Instant?
  }

  private let state: Mutex<State>

  /// Creates a flag that waits for `components` (by default one, `service`).
  public init(components: Set<String> = ["service"]) {
    self.state = Mutex(State(pending: components))
  }

  /// Marks `component` ready.
  public func markReady(_ component: String = "service") {
    self.state.withLock { _ = $0.pending.remove(component) }
  }

  /// Marks `component` not ready, e.g. when its connection drops.
  public func markNotReady(_ component: String = "service") {
    self.state.withLock { _ = $0.pending.insert(component) }
  }

  /// Marks the whole service not ready for good: it is draining.
  public func beginShutdown() {
    self.state.withLock {
      $0.shuttingDown = true
      $0.shutdownBegan = $0.shutdownBegan ?? .now
    }
  }

  /// When ``beginShutdown()`` was first called, if it was.
  public var shutdownBegan: ContinuousClock.Instant? { self.state.withLock { $0.shutdownBegan } }

  /// Whether every component is ready and shutdown has not begun.
  public var isReady: Bool { self.notReady.isEmpty }

  /// What is not ready, sorted: pending components, and `shutdown` once draining.
  public var notReady: [String] {
    self.state.withLock { state in
      state.pending.sorted() + (state.shuttingDown ? ["shutdown"] : [])
    }
  }
}
