/// How many events the next request may carry: halved after a request that timed out, doubled
/// back toward ``maximum`` after each one that succeeded.
///
/// A request that takes longer than its timeout on a slow link is still queued in libzmq when it
/// is resent, so resending the same size only piles copies up; a smaller one gets through.
struct BatchLimit: Sendable, Equatable {
  /// The configured size, never exceeded.
  let maximum: Int
  /// The size of the next request, `1...maximum`.
  private(set) var current: Int

  init(maximum: Int) {
    self.maximum = max(maximum, 1)
    current = self.maximum
  }

  /// After a request of `size` events that timed out (or was refused as too large): half of it.
  mutating func shrink(after size: Int) {
    current = max(1, min(current, size) / 2)
  }

  /// After a request that succeeded: twice the size, up to ``maximum``.
  mutating func grow() {
    current = min(maximum, current * 2)
  }
}
