/// A Bloom filter of the identities in `bus_fingerprints`: an identity it has never seen is
/// certainly new, so an append looks up only the few it may have seen.
///
/// Blocked: an identity's five bits all lie in one 64-bit word, so a lookup reads one word per
/// layer. About twelve bits per identity, about one false "maybe" in a hundred. It grows by
/// layers, each twice the size of the one before, so it never needs rebuilding; retention's
/// deletions stay in it as false "maybe"s until the journal opens again.
struct IdentityFilter: Sendable {
  private struct Layer: Sendable {
    var words: [UInt64]
    /// `words.count` is a power of two: an index is the top `shift`-complement bits of a hash.
    let indexShift: UInt64
    let capacity: Int
    var count = 0

    init(capacity: Int) {
      let wanted = max(64, capacity * IdentityFilter.bitsPerIdentity / 64)
      let bits = UInt64(Int.bitWidth - (wanted - 1).leadingZeroBitCount)
      words = Array(repeating: 0, count: 1 << bits)
      indexShift = 64 - bits
      self.capacity = capacity
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

  private var layers: [Layer]

  /// An empty filter sized for `expected` identities (at least a million) before it adds a layer.
  init(expected: Int) {
    layers = [Layer(capacity: max(expected, 1 << 20))]
  }

  mutating func insert(_ fingerprint: UInt64) {
    if layers[layers.count - 1].count >= layers[layers.count - 1].capacity {
      layers.append(Layer(capacity: layers[layers.count - 1].capacity * 2))
    }
    let last = layers.count - 1
    let (word, mask) = layers[last].place(fingerprint)
    layers[last].words[word] |= mask
    layers[last].count += 1
  }

  /// How many fingerprints were inserted.
  var count: Int { layers.reduce(0) { $0 + $1.count } }

  func mayContain(_ fingerprint: UInt64) -> Bool {
    layers.contains { layer in
      let (word, mask) = layer.place(fingerprint)
      return layer.words[word] & mask == mask
    }
  }
}
