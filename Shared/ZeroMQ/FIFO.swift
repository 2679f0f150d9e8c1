/// A first-in first-out queue with amortised O(1) operations.
struct FIFO<Element> {
  private var storage: [Element] = []
  private var head = 0

  /// Number of queued elements.
  var count: Int { storage.count - head }
  /// True when nothing is queued.
  var isEmpty: Bool { head == storage.count }
  /// The queued elements, oldest first.
  var elements: ArraySlice<Element> { storage[head...] }

  /// The oldest element, if any.
  var first: Element? { isEmpty ? nil : storage[head] }

  /// Adds `element` at the back.
  mutating func append(_ element: Element) {
    storage.append(element)
  }

  /// Replaces the oldest element (the queue must not be empty).
  mutating func replaceFirst(_ element: Element) {
    storage[head] = element
  }

  /// Removes and returns the oldest element.
  mutating func popFirst() -> Element? {
    guard !isEmpty else { return nil }
    let element = storage[head]
    head += 1
    if head >= 64 && head * 2 >= storage.count {
      storage.removeFirst(head)
      head = 0
    }
    return element
  }

  /// Removes every element matching `predicate`, returning them in order.
  mutating func removeAll(where predicate: (Element) -> Bool) -> [Element] {
    let removed = storage[head...].filter(predicate)
    guard !removed.isEmpty else { return [] }
    storage = storage[head...].filter { !predicate($0) }
    head = 0
    return removed
  }

  /// Removes the first element matching `predicate`, returning it.
  mutating func remove(where predicate: (Element) -> Bool) -> Element? {
    guard let index = storage[head...].firstIndex(where: predicate) else { return nil }
    return storage.remove(at: index)
  }
}
