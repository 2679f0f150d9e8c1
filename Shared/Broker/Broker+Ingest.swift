import Dispatch
import Metrics
import PasserelleBus
import PasserelleEvents
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Publish requests decoded and validated, waiting for the journal.
struct IngestBatch: Sendable {
  /// One publish request being answered.
  struct Request: Sendable {
    let routingId: [UInt8]
    let requestId: [UInt8]
    /// Filled in for rejected events when decoded, for the others once committed.
    var outcomes: [PublishOutcome?]
  }

  var requests: [Request] = []
  /// The valid events, in request order.
  var entries: [Journal.Entry] = []
  /// For each entry, its request and its index in that request.
  var slots: [(request: Int, index: Int)] = []

  /// Appends `other`'s requests after this batch's.
  mutating func append(_ other: IngestBatch) {
    let offset = requests.count
    requests += other.requests
    entries += other.entries
    slots += other.slots.map { ($0.request + offset, $0.index) }
  }
}

extension Broker {
  /// Serves ingest on its own thread (``IngestThread``) until graceful shutdown or cancellation:
  /// each turn takes every request waiting (up to `maxBatch` events or 64 MiB), appends their events in one
  /// transaction, acknowledges them and sends the stored events out live.
  ///
  /// On graceful shutdown the thread finishes and acknowledges the batch in hand, then this
  /// flushes the live stream and returns.
  func serveIngest(_ ingest: IngestThread, live: AsyncSocket) async throws {
    try await withGracefulShutdownHandler {
      try await withTaskCancellationHandler {
        try await ingest.wait()
      } onCancel: {
        ingest.stop()
      }
    } onGracefulShutdown: {
      ingest.stop()
    }
    try await live.flush()
  }

  /// The ingest thread's loop (see ``IngestThread``).
  ///
  /// Under load, requests that arrived while a batch was being decoded are decoded on another
  /// thread while that batch commits, so both cores work; an idle bus answers a lone request
  /// without any hand-off. Requests already received when a stop is asked for are still answered.
  func ingestLoop(_ socket: Socket, live: AsyncSocket, thread: IngestThread) throws {
    var poller = Poller()
    poller.add(socket, events: .readable)
    // Requests the previous turn received before its commit: being decoded on another thread,
    // or (a few) still to decode, together with whatever has arrived since.
    var decodingNext: BackgroundDecoding?
    var received = Received()
    while true {
      let decoded: (IngestBatch, errors: [[[UInt8]]])
      if let pending = decodingNext {
        decoded = pending.result()
        decodingNext = nil
      } else {
        if !thread.isStopping { try receiveWaiting(socket, into: &received) }
        guard !received.messages.isEmpty else {
          if thread.isStopping { return }
          _ = try poller.poll(timeoutMilliseconds: IngestThread.stopCheckMilliseconds)
          continue
        }
        decoded = decodeSplitting(received.messages, events: received.events)
        received = Received()
      }
      let (batch, errors) = decoded
      for reply in errors { try socket.send(multipart: reply, dontWait: true) }
      guard !batch.requests.isEmpty else { continue }
      if !thread.isStopping {
        try receiveWaiting(socket, into: &received)
        // A few requests are decoded sooner after the commit, with what arrives meanwhile, than
        // another thread wakes up for them.
        if received.events >= Self.backgroundDecodingEvents {
          let messages = received.messages
          decodingNext = BackgroundDecoding { decode(messages[...]) }
          received = Received()
        }
      }
      let started = ContinuousClock.now
      let appended = try journal.append(batch.entries)
      metrics.commitSeconds.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
      metrics.batchSize.record(batch.entries.count)
      let (replies, fanOut) = answers(batch, appended)
      // Acknowledge first: the events are durable; live delivery is best effort, repaired by replay.
      for reply in replies { try socket.send(multipart: reply, dontWait: true) }
      try live.enqueue(batch: fanOut)
    }
  }

  /// From how many events decoding is worth handing to another thread (or splitting in two).
  static let backgroundDecodingEvents = 128

  /// Requests received and not yet decoded.
  private struct Received {
    var messages: [Message] = []
    /// How many events they carry.
    var events = 0
    /// How many bytes their frames hold.
    var bytes = 0
  }

  /// Most bytes of requests one commit takes (besides the request that crosses it): with events of
  /// up to 1 MiB, `maxBatch` events alone could make a transaction of gigabytes, held in memory
  /// about three times over (frames, entries, segments) while a backlog drains.
  static let maximumBatchBytes = 64 << 20

  /// Adds the requests waiting on `socket` to `received`, until it holds `maxBatch` events or
  /// ``maximumBatchBytes`` bytes.
  private func receiveWaiting(_ socket: Socket, into received: inout Received) throws {
    while received.events < configuration.maxBatch, received.bytes < Self.maximumBatchBytes,
      let message = try socket.receive(dontWait: true)
    {
      received.messages.append(message)
      received.events += max(0, message.count - 3)
      received.bytes += message.frames.reduce(0) { $0 + $1.count }
    }
  }

  /// Decodes requests in order; a large batch in two halves at once, on both cores.
  private func decodeSplitting(_ messages: [Message], events: Int) -> (IngestBatch, errors: [[[UInt8]]]) {
    guard events >= Self.backgroundDecodingEvents, messages.count >= 2 else { return decode(messages[...]) }
    var split = messages.startIndex
    var counted = 0
    while split < messages.endIndex - 1, counted < events / 2 {
      counted += max(0, messages[split].count - 3)
      split += 1
    }
    let halves = Mutex<[Int: (IngestBatch, errors: [[[UInt8]]])]>([:])
    let middle = split
    DispatchQueue.concurrentPerform(iterations: 2) { half in
      let decoded = decode(half == 0 ? messages[..<middle] : messages[middle...])
      halves.withLock { $0[half] = decoded }
    }
    let decoded = halves.withLock { $0 }
    guard case (var batch, let errors)? = decoded[0], let (second, secondErrors) = decoded[1] else {
      preconditionFailure("concurrentPerform returned before both halves were decoded")
    }
    batch.append(second)
    return (batch, errors + secondErrors)
  }

  private func decode(_ messages: ArraySlice<Message>) -> (IngestBatch, errors: [[[UInt8]]]) {
    var batch = IngestBatch()
    var errors: [[[UInt8]]] = []
    for message in messages { decode(message, into: &batch, errors: &errors) }
    return (batch, errors)
  }

  /// Validates one request and its events; a request that is not a well-formed `PUBLISH` gets
  /// its `ERROR` reply in `errors`.
  private func decode(_ message: Message, into batch: inout IngestBatch, errors: inout [[[UInt8]]]) {
    guard message.count >= 3 else {
      metrics.badRequest(socket: "ingest", field: "command")
      errors.append(
        errorReply(
          message, ProtocolError(field: "command", reason: "a request is [command, request-id, body…]")))
      return
    }
    guard message[1].string == Command.publish.rawValue else {
      metrics.badRequest(socket: "ingest", field: "command")
      let reason = "unknown command \"\(message[1].string)\" on the ingest socket (expected PUBLISH)"
      errors.append(errorReply(message, ProtocolError(field: "command", reason: reason)))
      return
    }
    guard message.count - 3 <= BusLimits.maximumEventsPerRequest else {
      metrics.badRequest(socket: "ingest", field: "events")
      let reason = "\(message.count - 3) events in one request; at most \(BusLimits.maximumEventsPerRequest)"
      errors.append(errorReply(message, ProtocolError(field: "events", reason: reason)))
      return
    }
    var request = IngestBatch.Request(
      routingId: message[0].bytes, requestId: message[2].bytes,
      outcomes: Array(repeating: nil, count: message.count - 3))
    for index in 3..<message.count {
      do {
        let event = try CloudEvent.decodeEnvelope(message[index])
        if let problem = Topic.reservedTypeProblem(event.type) {
          metrics.rejected(field: "type")
          request.outcomes[index - 3] = PublishOutcome(rejectedField: "type", reason: problem)
          continue
        }
        batch.entries.append(Journal.Entry(event: event, body: message[index].bytes))
        batch.slots.append((batch.requests.count, index - 3))
      } catch {
        metrics.rejected(field: error.field)
        request.outcomes[index - 3] = PublishOutcome(rejectedField: error.field, reason: error.explanation)
      }
    }
    batch.requests.append(request)
  }

  /// The `ACK` of every request of a committed batch, and the live messages of its stored events.
  private func answers(_ batch: IngestBatch, _ appended: [Journal.Appended]) -> (
    replies: [[[UInt8]]], fanOut: [[[UInt8]]]
  ) {
    var fanOut: [[[UInt8]]] = []
    fanOut.reserveCapacity(appended.count)
    var requests = batch.requests
    // By index, not by element: copying an entry would retain its five buffers.
    for index in appended.indices {
      let (slot, result) = (batch.slots[index], appended[index])
      requests[slot.request].outcomes[slot.index] = PublishOutcome(
        status: result.status, position: result.position)
      guard result.status == .stored else { continue }
      var topic = topicPrefixes[result.position.partition]
      topic.append(contentsOf: batch.entries[index].type.utf8)
      fanOut.append([topic, result.position.wire, batch.entries[index].body])
    }
    let replies = requests.map { request in
      [request.routingId, Array(Command.ack.rawValue.utf8), request.requestId]
        + request.outcomes.map {
          WireJSON.encode($0 ?? PublishOutcome(rejectedField: "$", reason: "internal"))
        }
    }
    metrics.stored.increment(by: fanOut.count)
    metrics.duplicates.increment(by: appended.count - fanOut.count)
    metrics.fannedOut.increment(by: fanOut.count)
    return (replies, fanOut)
  }

  func errorReply(_ message: Message, _ error: ProtocolError) -> [[UInt8]] {
    let requestId = message.count > 2 ? message[2].bytes : []
    return [message[0].bytes, Array(Command.error.rawValue.utf8), requestId, WireJSON.encode(error)]
  }
}

/// Requests being decoded on a Dispatch thread while the ingest thread commits the batch before.
private final class BackgroundDecoding: Sendable {
  private let done = DispatchSemaphore(value: 0)
  private let decoded = Mutex<(IngestBatch, errors: [[[UInt8]]])?>(nil)

  /// Starts `decode` at once.
  init(_ decode: @escaping @Sendable () -> (IngestBatch, errors: [[[UInt8]]])) {
    DispatchQueue.global().async { [self] in
      let result = decode()
      decoded.withLock { $0 = result }
      done.signal()
    }
  }

  /// Waits for the decoding to finish and returns what it produced.
  func result() -> (IngestBatch, errors: [[[UInt8]]]) {
    done.wait()
    guard let result = decoded.withLock({ $0 }) else {
      preconditionFailure("signalled before decoding finished")
    }
    return result
  }
}
