import Dispatch
import PasserelleBus
import PasserelleStorage
import Synchronization

/// An event's identity, CloudEvents `source` + `id`: what the bus deduplicates on.
///
/// Hashed once, when made: an append looks every identity up several times.
struct EventIdentity: Hashable, Sendable {
  let source: String
  let id: String
  /// A 64-bit FNV-1a hash of both texts.
  let fingerprint: UInt64

  init(source: String, id: String) {
    self.source = source
    self.id = id
    // FNV-1a over both texts, with a separator byte that UTF-8 text never contains.
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    hash = (hash ^ 0xFF) &* 0x100_0000_01b3
    for byte in source.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    fingerprint = hash
  }

  static func == (lhs: EventIdentity, rhs: EventIdentity) -> Bool {
    lhs.fingerprint == rhs.fingerprint && lhs.id == rhs.id && lhs.source == rhs.source
  }

  func hash(into hasher: inout Hasher) {
    hasher.combine(fingerprint)
  }

  /// The fingerprint as `bus_fingerprints` stores it, a signed 64-bit integer.
  var key: Int64 { Int64(bitPattern: fingerprint) }
}

/// The fingerprints of stored events that `bus_fingerprints` does not hold yet, where those events
/// are, and the order in which they are written there.
///
/// A commit that inserted its own fingerprints would write about one B-tree page of
/// `bus_fingerprints` per event, fingerprints coming in no order: four kilobytes, and their
/// checkpoint, for a 500-byte event. So a commit writes its segments, which hold every event's
/// identity anyway, and its fingerprints wait here. Each commit also writes a chunk of an earlier
/// *generation* (every fingerprint that was waiting when it was sealed, sorted): consecutive keys
/// share pages, so a generation costs about one write of each page its keys fall in, however many
/// of them there are. That only pays if a generation is large beside the index, so a generation
/// is a sixteenth of the index (at least 16,384 fingerprints, at most about a million, or what a
/// minute brought): a page then takes about ten keys per write, whatever the index's size.
///
/// Only fingerprints wait, not identities (a million identities would be hundreds of megabytes of
/// strings): a fingerprint found here says where to look, and the journal checks the event there.
///
/// Durable through the watermark, `bus_settings.identities_indexed`: per partition, the offset up
/// to which every event's fingerprint is in `bus_fingerprints`. It moves to the heads a generation
/// was sealed at, in the transaction that writes that generation's last chunk; a journal that
/// opens reads the identities of the events after it back from their segments.
struct PendingIdentities {
  /// Where the events of one generation's fingerprints are.
  fileprivate struct Positions {
    var first: [UInt64: EventPosition] = [:]
    /// Further events whose fingerprint is already in `first` (another identity with the same
    /// fingerprint, or the same one stored again after retention removed it): rare.
    var more: [UInt64: [EventPosition]] = [:]
    /// How many events, in both.
    private(set) var count = 0

    init(capacity: Int = 0) { first.reserveCapacity(capacity) }

    /// Every event, in no order.
    var all: [(fingerprint: UInt64, position: EventPosition)] {
      first.map { ($0.key, $0.value) } + more.flatMap { key, positions in positions.map { (key, $0) } }
    }

    mutating func add(_ fingerprint: UInt64, _ position: EventPosition) {
      count += 1
      if first[fingerprint] == nil {
        first[fingerprint] = position
      } else {
        more[fingerprint, default: []].append(position)
      }
    }

    /// Every event with `fingerprint`. Looked up for every event appended, in three generations
    /// that are often empty: an empty dictionary is not hashed into.
    func positions(of fingerprint: UInt64) -> [EventPosition] {
      guard count > 0 else { return [] }
      let others = more.isEmpty ? [] : more[fingerprint] ?? []
      guard let position = first[fingerprint] else { return others }
      return [position] + others
    }
  }

  /// The generation filling.
  private var arrived = Positions()
  /// The generation being sorted on another thread, sealed and not yet written.
  private var sorting: SortingGeneration?
  private var sortingPositions = Positions()
  /// The generation being written, in key order, and how much of it is written.
  private var sealed: [(fingerprint: UInt64, position: EventPosition)] = []
  private var sealedPositions = Positions()
  private var written = 0
  /// The heads when `sealed` was sealed: the watermark once all of it is written.
  private var sealedHeads: [Int64]
  private var sealedAt: ContinuousClock.Instant
  /// Per partition, the last offset retention has removed: fingerprints at or below it are dropped.
  private(set) var prunedThrough: [Int64]
  /// What `bus_fingerprints` may hold: a fingerprint it rules out needs no lookup there.
  private var indexed: IdentityFilter

  /// The fewest fingerprints a generation is sealed with (unless ``generationAge`` has passed).
  static let minimumGeneration = 16_384
  /// The most fingerprints a generation is sealed with.
  static let maximumGeneration = 1 << 20
  /// A generation is sealed at least this often while fingerprints wait.
  static let generationAge: Duration = .seconds(60)
  /// The fewest fingerprints a commit writes while a generation is being written; a commit of
  /// more events writes as many as it stored, so the waiting ones never grow faster than they go.
  static let minimumChunk = 4

  /// What a commit writes of the generation, and what it then records.
  struct Chunk {
    /// `(fingerprint, partition_no, event_offset)` rows for `bus_fingerprints`.
    var rows: [[SQLValue]] = []
    /// How many of the generation's fingerprints the chunk takes (written, or dropped as pruned).
    var taken = 0
    /// The new watermark, when the chunk ends the generation.
    var watermark: [Int64]?
  }

  /// Nothing waiting; `watermark` is the one stored (the heads of a journal that had none), and
  /// `indexed` holds every fingerprint in `bus_fingerprints`.
  init(watermark: [Int64], indexed: IdentityFilter, now: ContinuousClock.Instant) {
    self.indexed = indexed
    sealedHeads = watermark
    sealedAt = now
    prunedThrough = Array(repeating: 0, count: watermark.count)
    arrived = Positions(capacity: generationSize)
  }

  /// How many fingerprints the generation filling is sealed with: a sixteenth of the index.
  var generationSize: Int {
    min(max(indexed.count / 16, Self.minimumGeneration), Self.maximumGeneration)
  }

  /// Where events with `fingerprint` whose fingerprint waits are, newest generation first, leaving
  /// out those retention has removed: the caller checks which, if any, has the identity it looks for.
  func positions(of fingerprint: UInt64) -> [EventPosition] {
    let found =
      arrived.positions(of: fingerprint) + sortingPositions.positions(of: fingerprint)
      + sealedPositions.positions(of: fingerprint)
    return found.isEmpty ? found : found.filter { $0.offset > prunedThrough[$0.partition] }
  }

  /// Whether `bus_fingerprints` may hold `fingerprint` (`false`: it certainly does not).
  func mayBeIndexed(_ fingerprint: UInt64) -> Bool { indexed.mayContain(fingerprint) }

  /// Records the fingerprint of a stored event (the journal opening, or a commit).
  mutating func add(_ fingerprint: UInt64, at position: EventPosition) {
    arrived.add(fingerprint, position)
  }

  /// Records that retention removed `partition`'s events up to `offset` (once the delete has
  /// committed): their fingerprints are no longer found nor written, so a resend is stored again,
  /// as it is once retention has deleted an indexed one; and the identity filter forgets what it
  /// only held for them. A chunk written while the delete was in flight may have written some of
  /// their fingerprints: harmless rows, since every fingerprint found is checked against its
  /// event, which is gone.
  mutating func pruned(partition: Int, through offset: Int64) {
    prunedThrough[partition] = max(prunedThrough[partition], offset)
    indexed.forget(prunedThrough: prunedThrough)
  }

  /// The chunk of the generation to write with a commit that stores `events` events.
  func nextChunk(events: Int) -> Chunk {
    var chunk = Chunk()
    let end = min(sealed.count, written + max(Self.minimumChunk, events))
    guard written < end else { return chunk }
    chunk.rows.reserveCapacity(end - written)
    for (fingerprint, position) in sealed[written..<end]
    where position.offset > prunedThrough[position.partition] {
      chunk.rows.append([
        .integer(Int64(bitPattern: fingerprint)), .integer(Int64(position.partition)),
        .integer(position.offset),
      ])
    }
    chunk.taken = end - written
    if end == sealed.count { chunk.watermark = sealedHeads }
    return chunk
  }

  /// After the commit that wrote `chunk`: seals the next generation once the last one is written
  /// and enough is waiting (it is sorted on another thread, and written from the first commit
  /// after that). `heads` are the heads after the commit, whose stored fingerprints the caller
  /// has just added.
  mutating func committed(_ chunk: Chunk, heads: [Int64], now: ContinuousClock.Instant) {
    for (fingerprint, position) in sealed[written..<written + chunk.taken] {
      indexed.insert(fingerprint, at: position)
    }
    written += chunk.taken
    if written == sealed.count {
      sealed = []
      sealedPositions = Positions()
      written = 0
    }
    guard sealed.isEmpty else { return }
    if let sorting {
      guard let sorted = sorting.result else { return }
      sealed = sorted
      sealedPositions = sortingPositions
      sortingPositions = Positions()
      sealedHeads = sorting.heads
      self.sorting = nil
      return
    }
    guard arrived.count > 0, arrived.count >= generationSize || now - sealedAt >= Self.generationAge
    else { return }
    sorting = SortingGeneration(arrived, heads: heads)
    sortingPositions = arrived
    arrived = Positions(capacity: generationSize)
    sealedAt = now
  }
}

/// A sealed generation being sorted by key on a Dispatch thread, so that the ingest thread does
/// not stop for it.
private final class SortingGeneration: Sendable {
  typealias Fingerprints = [(fingerprint: UInt64, position: EventPosition)]

  /// The heads when it was sealed.
  let heads: [Int64]
  private let sorted = Mutex<Fingerprints?>(nil)

  fileprivate init(_ generation: PendingIdentities.Positions, heads: [Int64]) {
    self.heads = heads
    DispatchQueue.global().async { [self] in
      // In the order of `bus_fingerprints`' key, a signed integer.
      let ordered = generation.all.sorted {
        Int64(bitPattern: $0.fingerprint) < Int64(bitPattern: $1.fingerprint)
      }
      sorted.withLock { $0 = ordered }
    }
  }

  /// The fingerprints in key order, once sorted.
  var result: Fingerprints? { sorted.withLock { $0 } }
}
