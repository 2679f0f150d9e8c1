import Synchronization

/// A test's wait that ran past its bound.
public struct DeadlineExceeded: Error, CustomStringConvertible {
  /// What was being waited for.
  public let what: String
  /// The bound that passed.
  public let timeout: Duration
  public var description: String { "\(what) did not finish within \(timeout)" }
}

/// Runs `body`, cancelling it and throwing ``DeadlineExceeded`` if it runs longer than `timeout`.
///
/// The caller gets its answer at the deadline even if `body` ignores the cancellation: `body`
/// runs in a task of its own, left behind rather than waited for, so a test fails instead of
/// hanging.
public func withDeadline<T: Sendable>(
  _ timeout: Duration, _ what: String = "operation", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
  let work = Task { try await body() }
  return try await withTaskCancellationHandler {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
      let pending = Answer(continuation)
      let timer = Task {
        try await Task.sleep(for: timeout)
        work.cancel()
        pending.resume(with: .failure(DeadlineExceeded(what: what, timeout: timeout)))
      }
      Task {
        let result = await work.result
        timer.cancel()
        pending.resume(with: result)
      }
    }
  } onCancel: {
    work.cancel()
  }
}

/// A continuation resumed by whichever comes first, the body or the deadline.
private final class Answer<T: Sendable>: Sendable {
  private let continuation: Mutex<CheckedContinuation<T, any Error>?>

  init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }

  func resume(with result: Result<T, any Error>) {
    continuation.withLock { $0.take() }?.resume(with: result)
  }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
public func eventually(
  within timeout: Duration, _ condition: @Sendable () async throws -> Bool
) async rethrows -> Bool {
  let deadline = ContinuousClock.now + timeout
  repeat {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(20))
  } while ContinuousClock.now < deadline
  return try await condition()
}
