/// A Bloom filter of the identities in `bus_identities`: an identity it has never seen is
/// certainly new, so an append looks up only the few it may have seen.
///
/// Twelve bits and five probes per identity (about one false "maybe" in 200). It grows by layers,
/// each twice the size of the one before, so it never needs rebuilding; retention's deletions stay
/// in it as false "maybe"s until the journal opens again.
struct IdentityFilter: Sendable {
  private struct Layer: Sendable {
    var words: [UInt64]
    let capacity: Int
    var count = 0

    init(capacity: Int) {
      self.capacity = capacity
      words = Array(repeating: 0, count: (capacity * IdentityFilter.bitsPerIdentity + 63) / 64)
    }

    /// Bit `probe` of `fingerprint` (double hashing).
    func bit(_ fingerprint: UInt64, probe: UInt64) -> Int {
      let step = (fingerprint >> 29 | fingerprint << 35) | 1
      return Int((fingerprint &+ probe &* step) % UInt64(words.count * 64))
    }

    mutating func insert(_ fingerprint: UInt64) {
      for probe in 0..<UInt64(IdentityFilter.probes) {
        let bit = bit(fingerprint, probe: probe)
        words[bit >> 6] |= 1 << UInt64(bit & 63)
      }
      count += 1
    }

    func mayContain(_ fingerprint: UInt64) -> Bool {
      for probe in 0..<UInt64(IdentityFilter.probes) {
        let bit = bit(fingerprint, probe: probe)
        if words[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
      }
      return true
    }
  }

  static let bitsPerIdentity = 12
  static let probes = 5

  private var layers: [Layer]

  /// An empty filter sized for `expected` identities before it adds a layer.
  init(expected: Int) {
    layers = [Layer(capacity: max(expected, 1 << 16))]
  }

  mutating func insert(_ identity: EventIdentity) {
    if layers[layers.count - 1].count >= layers[layers.count - 1].capacity {
      layers.append(Layer(capacity: layers[layers.count - 1].capacity * 2))
    }
    layers[layers.count - 1].insert(identity.fingerprint)
  }

  func mayContain(_ identity: EventIdentity) -> Bool {
    layers.contains { $0.mayContain(identity.fingerprint) }
  }
}
