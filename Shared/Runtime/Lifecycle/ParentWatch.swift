import Foundation
import Logging
import ServiceLifecycle

/// Shuts the group down gracefully once `parent` is no longer this process's parent: the parent
/// exited, however it died, and the process was handed to another (`PASSERELLE_PARENT_PID`).
///
/// Polled four times a second: Linux tells a child of its parent's death only through
/// `prctl(PR_SET_PDEATHSIG)`, which fires when the parent's spawning *thread* exits and which
/// Swift cannot call (it is variadic).
struct ParentWatch: Service {
  let parent: Int32
  let logger: Logger

  func run() async throws {
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      guard getppid() == parent else {
        logger.warning("parent process exited: draining", metadata: ["parent.pid": "\(parent)"])
        return
      }
      _ = try? await cancelOnGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
    }
  }
}
