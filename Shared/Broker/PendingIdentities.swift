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

  /// The order of `bus_fingerprints`' primary key.
  static func keyOrder(_ lhs: EventIdentity, _ rhs: EventIdentity) -> Bool { lhs.key < rhs.key }
}

/// The identities of stored events that `bus_fingerprints` does not hold yet, and the order in
/// which they are written there.
///
/// A commit that inserted its own identities would write about one B-tree page of
/// `bus_fingerprints` per event, fingerprints coming in no order: four kilobytes, and their
/// checkpoint, for a 500-byte event. So a commit writes its segments, which hold every event's identity
/// anyway, and its identities wait here. Each commit also writes a chunk of an earlier
/// *generation* (every identity that was waiting when it was sealed, sorted by key): consecutive
/// keys share pages, so a generation costs about one write of each page its keys fall in,
/// however many of them there are.
///
/// Durable through the watermark, `bus_settings.identities_indexed`: per partition, the offset up
/// to which every event's identity is in `bus_fingerprints`. It moves to the heads a generation
/// was sealed at, in the transaction that writes that generation's last chunk; a journal that
/// opens reads the identities of the events after it back from their segments.
struct PendingIdentities {
  /// Every identity waiting, sealed or not, and where its event is.
  private var positions: [EventIdentity: EventPosition] = [:]
  /// The identities waiting and not sealed, in the order they came: ids that rise as they
  /// come (a till's receipt numbers) are then sorted in one pass.
  private var arrivals: [(identity: EventIdentity, position: EventPosition)] = []
  /// The generation being sorted on another thread, sealed and not yet written.
  private var sorting: SortingGeneration?
  /// The generation being written, in key order, and how much of it is written.
  private var sealed: [(identity: EventIdentity, position: EventPosition)] = []
  private var written = 0
  /// The heads when `sealed` was sealed: the watermark once all of it is written.
  private var sealedHeads: [Int64]
  private var sealedAt: ContinuousClock.Instant
  /// Per partition, the last offset retention has removed: identities at or below it are dropped.
  private var prunedThrough: [Int64]
  /// What `bus_fingerprints` may hold: an identity it rules out needs no lookup there.
  private var indexed: IdentityFilter

  /// A generation is sealed once this many identities wait (or ``generationAge`` has passed).
  static let generationIdentities = 16_384
  /// A generation is sealed at least this often while identities wait.
  static let generationAge: Duration = .seconds(1)
  /// The fewest identities a commit writes while a generation is being written; a commit of more
  /// events writes as many as it stored, so the waiting ones never grow faster than they go.
  static let minimumChunk = 32

  /// What a commit writes of the generation, and what it then records.
  struct Chunk {
    /// `(fingerprint, partition_no, event_offset)` rows for `bus_fingerprints`.
    var rows: [[SQLValue]] = []
    /// How many of the generation's identities the chunk takes (written, or dropped as pruned).
    var taken = 0
    /// The new watermark, when the chunk ends the generation.
    var watermark: [Int64]?
  }

  /// Nothing waiting; `watermark` is the one stored (the heads of a journal that had none), and
  /// `indexed` holds every identity in `bus_fingerprints`.
  init(watermark: [Int64], indexed: IdentityFilter, now: ContinuousClock.Instant) {
    self.indexed = indexed
    sealedHeads = watermark
    sealedAt = now
    prunedThrough = Array(repeating: 0, count: watermark.count)
    positions.reserveCapacity(2 * Self.generationIdentities)
  }

  /// Where the event with `identity` is, if its identity is waiting.
  func position(of identity: EventIdentity) -> EventPosition? { positions[identity] }

  /// Whether `bus_fingerprints` may hold `identity` (`false`: it certainly does not).
  func mayBeIndexed(_ identity: EventIdentity) -> Bool { indexed.mayContain(identity.fingerprint) }

  /// Records the identity of a stored event (the journal opening, or a commit).
  mutating func add(_ identity: EventIdentity, at position: EventPosition) {
    positions[identity] = position
    arrivals.append((identity, position))
  }

  /// Records that retention removed `partition`'s events up to `offset`: their identities are
  /// forgotten, so a resend is stored again, as it is once retention has deleted an indexed one.
  mutating func pruned(partition: Int, through offset: Int64) {
    guard offset > prunedThrough[partition] else { return }
    prunedThrough[partition] = offset
    positions = positions.filter { $0.value.partition != partition || $0.value.offset > offset }
  }

  /// The chunk of the generation to write with a commit that stores `events` events.
  func nextChunk(events: Int) -> Chunk {
    var chunk = Chunk()
    let end = min(sealed.count, written + max(Self.minimumChunk, events))
    guard written < end else { return chunk }
    chunk.rows.reserveCapacity(end - written)
    for (identity, position) in sealed[written..<end]
    where position.offset > prunedThrough[position.partition] {
      chunk.rows.append([
        .integer(identity.key), .integer(Int64(position.partition)), .integer(position.offset),
      ])
    }
    chunk.taken = end - written
    if end == sealed.count { chunk.watermark = sealedHeads }
    return chunk
  }

  /// After the commit that wrote `chunk`: forgets what it wrote, and seals the next generation
  /// once the last one is written and enough is waiting (it is sorted on another thread, and
  /// written from the first commit after that). `heads` are the heads after the commit, whose
  /// stored identities the caller has just added.
  mutating func committed(_ chunk: Chunk, heads: [Int64], now: ContinuousClock.Instant) {
    for (identity, position) in sealed[written..<written + chunk.taken] {
      // Unless retention removed the event and the identity came again since, as another event.
      if positions[identity] == position { positions[identity] = nil }
      indexed.insert(identity.fingerprint)
    }
    written += chunk.taken
    if written == sealed.count {
      sealed = []
      written = 0
    }
    guard sealed.isEmpty else { return }
    if let sorting {
      guard let sorted = sorting.result else { return }
      sealed = sorted
      sealedHeads = sorting.heads
      self.sorting = nil
      return
    }
    guard !arrivals.isEmpty,
      arrivals.count >= Self.generationIdentities || now - sealedAt >= Self.generationAge
    else { return }
    sorting = SortingGeneration(arrivals, heads: heads)
    arrivals = []
    sealedAt = now
  }
}

/// A sealed generation being sorted by key on a Dispatch thread, so that the ingest thread does
/// not stop for it (a second's worth of ids in no order takes milliseconds).
private final class SortingGeneration: Sendable {
  typealias Identities = [(identity: EventIdentity, position: EventPosition)]

  /// The heads when it was sealed.
  let heads: [Int64]
  private let sorted = Mutex<Identities?>(nil)

  init(_ identities: Identities, heads: [Int64]) {
    self.heads = heads
    DispatchQueue.global().async { [self] in
      let ordered = identities.sorted { EventIdentity.keyOrder($0.identity, $1.identity) }
      sorted.withLock { $0 = ordered }
    }
  }

  /// The identities in key order, once sorted.
  var result: Identities? { sorted.withLock { $0 } }
}
