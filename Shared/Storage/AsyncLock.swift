import Dispatch
import Synchronization

/// A mutual-exclusion lock taken either by async code, which suspends while it waits, or by a
/// thread of its own, which blocks (``lockBlocking()``); waiters acquire in FIFO order.
final class AsyncLock: Sendable {
  /// Someone waiting for the lock; ``unlock()`` hands it over directly.
  private enum Waiter: Sendable {
    case task(CheckedContinuation<Void, Never>)
    case thread(DispatchSemaphore)
  }

  private struct State {
    var isLocked = false
    var waiters: [Waiter] = []
    var nextWaiter = 0

    /// Takes the lock if it is free.
    mutating func acquire() -> Bool {
      guard !isLocked else { return false }
      isLocked = true
      return true
    }
  }

  private let state = Mutex(State())

  /// Suspends until the lock is free, then takes it.
  func lock() async {
    if state.withLock({ $0.acquire() }) { return }
    await withCheckedContinuation { continuation in
      let acquired = state.withLock { state in
        if state.acquire() { return true }
        state.waiters.append(.task(continuation))
        return false
      }
      if acquired { continuation.resume() }
    }
  }

  /// Blocks the calling thread until the lock is free, then takes it: for threads of their own,
  /// never for tasks on the cooperative pool.
  func lockBlocking() {
    let semaphore = DispatchSemaphore(value: 0)
    let acquired = state.withLock { state in
      if state.acquire() { return true }
      state.waiters.append(.thread(semaphore))
      return false
    }
    if !acquired { semaphore.wait() }
  }

  /// Releases the lock, handing it straight to the longest waiter if there is one.
  func unlock() {
    let next: Waiter? = state.withLock { state in
      guard state.nextWaiter < state.waiters.count else {
        state.isLocked = false
        state.waiters.removeAll(keepingCapacity: true)
        state.nextWaiter = 0
        return nil
      }
      let waiter = state.waiters[state.nextWaiter]
      state.nextWaiter += 1
      if state.nextWaiter >= 64, state.nextWaiter * 2 >= state.waiters.count {
        state.waiters.removeFirst(state.nextWaiter)
        state.nextWaiter = 0
      }
      return waiter
    }
    switch next {
    case .task(let continuation): continuation.resume()
    case .thread(let semaphore): semaphore.signal()
    case nil: break
    }
  }

  /// Runs `body` while holding the lock, releasing it whether `body` returns or throws.
  func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    await lock()
    defer { unlock() }
    return try await body()
  }

  /// Blocks until the lock is free, runs `body` holding it, and releases it.
  func withLockBlocking<T>(_ body: () throws -> T) rethrows -> T {
    lockBlocking()
    defer { unlock() }
    return try body()
  }
}
