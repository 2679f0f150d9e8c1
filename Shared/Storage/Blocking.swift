import Dispatch
import Synchronization

/// Async work awaited from a thread that may block: a service's own thread (the bus's ingest
/// thread), never a task on the cooperative pool, whose few threads the work itself needs.
public enum Blocking {
  /// Runs `work` in a new task and blocks the calling thread until it returns or throws.
  public static func wait<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
      do {
        outcome.set(.success(try await work()))
      } catch {
        outcome.set(.failure(error))
      }
      done.signal()
    }
    done.wait()
    return try outcome.get()
  }

  /// Where the task leaves its result for the waiting thread.
  private final class Outcome<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)

    func set(_ value: Result<T, any Error>) { result.withLock { $0 = value } }

    func get() throws -> T {
      guard let value = result.withLock({ $0 }) else { preconditionFailure("read before the task finished") }
      return try value.get()
    }
  }
}
