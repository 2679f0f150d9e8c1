/// What ``SQLDatabase/exclusively(_:waiting:stopWaiting:_:)`` shares between its implementations.
enum ExclusiveLock {
  /// How often a taken lock is tried again.
  static let pollInterval: Duration = .milliseconds(200)

  /// Calls `tryAcquire` until it succeeds (`true`) or `stopWaiting` says to give up (`false`);
  /// calls `waiting` once, after the first refusal.
  static func acquire(
    waiting: () -> Void, stopWaiting: () -> Bool, _ tryAcquire: () async throws -> Bool
  ) async throws -> Bool {
    var refused = false
    while true {
      if try await tryAcquire() { return true }
      if !refused {
        refused = true
        waiting()
      }
      if stopWaiting() { return false }
      try await Task.sleep(for: pollInterval)
    }
  }

  /// The advisory-lock key of the lock `name` in `schema`: a lock is per schema, so that journals
  /// in two schemas of one database (two environments, or parallel tests) do not exclude each other.
  static func postgresKey(schema: String, name: String) -> Int64 {
    key("\(schema)/\(name)")
  }

  /// A 64-bit key for `name` (FNV-1a), for PostgreSQL's advisory locks.
  static func key(_ name: String) -> Int64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return Int64(bitPattern: hash)
  }
}
