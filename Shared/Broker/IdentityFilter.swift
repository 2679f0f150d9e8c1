import PasserelleBus

/// A Bloom filter of the identities in `bus_fingerprints`: an identity it has never seen is
/// certainly new, so an append looks up only the few it may have seen.
///
/// Blocked: an identity's five bits all lie in one 64-bit word, so a lookup reads one word per
/// layer. About twelve bits per identity, about one false "maybe" in a hundred per layer. It grows
/// by layers, each sized for as many identities as the filter holds (at least a million), so it
/// never needs rebuilding; and it forgets a whole layer once retention has removed every event
/// whose identity it holds, so that its size follows the journal's, not the time since the bus
/// started. Retention's deletions stay in a layer as false "maybe"s until the layer goes.
struct IdentityFilter: Sendable {
  private struct Layer: Sendable {
    var words: [UInt64]
    /// `words.count` is a power of two: an index is the top `shift`-complement bits of a hash.
    let indexShift: UInt64
    let capacity: Int
    var count = 0
    /// Per partition, the newest offset of an event whose identity is in this layer.
    var newest: [Int64]

    init(capacity: Int, newest: [Int64]) {
      let wanted = max(64, capacity * IdentityFilter.bitsPerIdentity / 64)
      let bits = UInt64(Int.bitWidth - (wanted - 1).leadingZeroBitCount)
      words = Array(repeating: 0, count: 1 << bits)
      indexShift = 64 - bits
      self.capacity = capacity
      self.newest = newest
    }

    /// The word of `fingerprint`, and its five bits in that word.
    func place(_ fingerprint: UInt64) -> (word: Int, mask: UInt64) {
      let word = Int((fingerprint &* 0x9E37_79B9_7F4A_7C15) >> indexShift)
      var mask: UInt64 = 0
      for probe in 0..<UInt64(IdentityFilter.probes) { mask |= 1 << (fingerprint >> (6 * probe) & 63) }
      return (word, mask)
    }
  }

  static let bitsPerIdentity = 12
  static let probes = 5
  /// The fewest identities a layer is sized for.
  static let minimumLayer = 1 << 20

  private var layers: [Layer]

  /// An empty filter sized for `expected` identities before it adds a layer, whose first layer
  /// will hold identities of events up to `newest` (per partition), such as the heads of the
  /// journal it is filled from when it opens.
  init(expected: Int, newest: [Int64]) {
    layers = [Layer(capacity: max(expected, Self.minimumLayer), newest: newest)]
  }

  /// Adds the identity of the event at `position` (`nil`: an event the layer already covers, as
  /// when the filter is filled from the journal's identities at ``init(expected:newest:)``).
  mutating func insert(_ fingerprint: UInt64, at position: EventPosition?) {
    if layers[layers.count - 1].count >= layers[layers.count - 1].capacity {
      let partitions = layers[layers.count - 1].newest.count
      layers.append(
        Layer(capacity: max(count, Self.minimumLayer), newest: Array(repeating: 0, count: partitions)))
    }
    let last = layers.count - 1
    let (word, mask) = layers[last].place(fingerprint)
    layers[last].words[word] |= mask
    layers[last].count += 1
    if let position, layers[last].newest.indices.contains(position.partition) {
      layers[last].newest[position.partition] = max(layers[last].newest[position.partition], position.offset)
    }
  }

  /// Forgets the oldest layers all of whose events retention has removed (`prunedThrough`: per
  /// partition, the last offset removed). The layer being filled stays.
  mutating func forget(prunedThrough: [Int64]) {
    while layers.count > 1,
      zip(layers[0].newest, prunedThrough).allSatisfy({ newest, pruned in newest <= pruned })
    {
      layers.removeFirst()
    }
  }

  /// How many fingerprints the layers still held were given.
  var count: Int { layers.reduce(0) { $0 + $1.count } }

  /// How many layers it has (each costs one word read per lookup).
  var layerCount: Int { layers.count }

  func mayContain(_ fingerprint: UInt64) -> Bool {
    layers.contains { layer in
      let (word, mask) = layer.place(fingerprint)
      return layer.words[word] & mask == mask
    }
  }
}
