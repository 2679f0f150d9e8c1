import Foundation

/// A value guarded by a pthread mutex (`NSLock`).
///
/// Used instead of `Synchronization.Mutex` because its futex fast path is invisible to
/// ThreadSanitizer, and `swift test --sanitize=thread` must stay quiet on this module.
final class Locked<Value>: @unchecked Sendable {  // every access to `value` holds `lock`
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) {
    self.value = value
  }

  /// Runs `body` with exclusive access to the value.
  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}
