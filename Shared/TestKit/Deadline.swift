/// A test's wait that ran past its bound.
public struct DeadlineExceeded: Error, CustomStringConvertible {
  /// What was being waited for.
  public let what: String
  /// The bound that passed.
  public let timeout: Duration
  public var description: String { "\(what) did not finish within \(timeout)" }
}

/// Runs `body`, cancelling it and throwing ``DeadlineExceeded`` if it runs longer than `timeout`.
public func withDeadline<T: Sendable>(
  _ timeout: Duration, _ what: String = "operation", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
  try await withThrowingTaskGroup(of: T?.self) { group in
    group.addTask { try await body() }
    group.addTask {
      try await Task.sleep(for: timeout)
      return nil
    }
    defer { group.cancelAll() }
    guard let first = try await group.next(), let value = first else {
      throw DeadlineExceeded(what: what, timeout: timeout)
    }
    return value
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
