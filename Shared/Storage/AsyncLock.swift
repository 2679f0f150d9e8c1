/// A mutual-exclusion lock for async code: waiters suspend (no spinning) and acquire in FIFO order.
actor AsyncLock {
  private var isLocked = false
  private var waiters: [CheckedContinuation<Void, Never>] = []
  private var nextWaiter = 0

  /// Suspends until the lock is free, then takes it.
  func lock() async {
    guard isLocked else {
      isLocked = true
      return
    }
    await withCheckedContinuation { waiters.append($0) }
  }

  /// Releases the lock, handing it straight to the longest waiter if there is one.
  func unlock() {
    guard nextWaiter < waiters.count else {
      isLocked = false
      waiters.removeAll(keepingCapacity: true)
      nextWaiter = 0
      return
    }
    let waiter = waiters[nextWaiter]
    nextWaiter += 1
    if nextWaiter >= 64, nextWaiter * 2 >= waiters.count {
      waiters.removeFirst(nextWaiter)
      nextWaiter = 0
    }
    waiter.resume()
  }

  /// Runs `body` while holding the lock, releasing it whether `body` returns or throws.
  nonisolated func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    await lock()
    do {
      let result = try await body()
      await unlock()
      return result
    } catch {
      await unlock()
      throw error
    }
  }
}
