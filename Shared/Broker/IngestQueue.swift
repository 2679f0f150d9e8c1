import Synchronization

/// Decoded publish requests waiting for the journal: the hand-off between ingest's two stages.
///
/// The decoding stage ``put(_:)``s each batch it decoded; the committing stage takes everything
/// queued at once, so whatever was decoded while the previous transaction was being fsynced
/// goes into the next one (group commit). `put` waits while `capacity` events are queued, which
/// pushes back on publishers through the socket's queues.
final class IngestQueue: Sendable {
  private struct State {
    var batches: [IngestBatch] = []
    var events = 0
    var finished = false
    var taker: CheckedContinuation<[IngestBatch], Never>?
    var putter: CheckedContinuation<Void, Never>?
  }

  private let state = Mutex(State())
  private let capacity: Int

  /// Creates a queue that holds about `capacity` events before `put` waits.
  init(capacity: Int) {
    self.capacity = max(1, capacity)
  }

  /// Queues `batch`; waits while the queue is full. Returns `false` once the queue is finished
  /// (the batch is then not queued).
  func put(_ batch: IngestBatch) async -> Bool {
    while true {
      enum Step {
        case queued(CheckedContinuation<[IngestBatch], Never>?, [IngestBatch])
        case refused
        case full
      }
      let step: Step = state.withLock { state in
        if state.finished { return .refused }
        guard state.events < capacity else { return .full }
        state.batches.append(batch)
        state.events += batch.entries.count
        guard let taker = state.taker else { return .queued(nil, []) }
        state.taker = nil
        let taken = state.batches
        state.batches = []
        state.events = 0
        return .queued(taker, taken)
      }
      switch step {
      case .refused: return false
      case .queued(let taker, let taken):
        taker?.resume(returning: taken)
        return true
      case .full:
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
          let resumeNow = state.withLock { state in
            if state.finished || state.events < capacity { return true }
            state.putter = continuation
            return false
          }
          if resumeNow { continuation.resume() }
        }
      }
    }
  }

  /// Takes every queued batch, waiting for one if none is queued. Returns `[]` once the queue is
  /// finished and empty.
  func takeAll() async -> [IngestBatch] {
    await withCheckedContinuation { (continuation: CheckedContinuation<[IngestBatch], Never>) in
      let (taken, putter) = state.withLock { state -> ([IngestBatch]?, CheckedContinuation<Void, Never>?) in
        guard state.batches.isEmpty else {
          let taken = state.batches
          state.batches = []
          state.events = 0
          let putter = state.putter
          state.putter = nil
          return (taken, putter)
        }
        if state.finished { return ([], nil) }
        state.taker = continuation
        return (nil, nil)
      }
      putter?.resume()
      if let taken { continuation.resume(returning: taken) }
    }
  }

  /// Ends the queue: `put` refuses from now on, `takeAll` returns what is left and then `[]`.
  func finish() {
    let (taker, putter) = state.withLock { state in
      state.finished = true
      let waiting = (state.batches.isEmpty ? state.taker : nil, state.putter)
      if state.batches.isEmpty { state.taker = nil }
      state.putter = nil
      return waiting
    }
    taker?.resume(returning: [])
    putter?.resume()
  }
}
