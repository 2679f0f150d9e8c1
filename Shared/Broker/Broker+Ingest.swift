import Metrics
import PasserelleBus
import PasserelleEvents
import ServiceLifecycle
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
  /// Ingest in two stages that overlap: this task decodes and validates requests while the
  /// committing stage appends the previous ones to the journal, acknowledges and fans out.
  ///
  /// On graceful shutdown decoding stops, the committing stage finishes what was decoded,
  /// flushes every acknowledgement and live message, and this returns.
  func serveIngest(_ ingest: AsyncSocket, live: AsyncSocket) async throws {
    let queue = IngestQueue(capacity: configuration.maxBatch)
    async let committing: Void = commitBatches(from: queue, ingest: ingest, live: live)
    do {
      try await decodeRequests(from: ingest, into: queue)
    } catch {
      queue.finish()
      try? await committing
      throw error
    }
    queue.finish()
    try await committing
  }

  private func decodeRequests(from ingest: AsyncSocket, into queue: IngestQueue) async throws {
    // Wakes at least every 200 ms to notice a graceful shutdown between batches.
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      guard let first = try await ingest.receive(timeout: .milliseconds(200)) else { continue }
      var messages = [first]
      var events = max(0, first.count - 3)
      while events < configuration.maxBatch, let next = ingest.receiveIfAvailable() {
        messages.append(next)
        events += max(0, next.count - 3)
      }
      let (batch, errors) = await decode(messages, events: events)
      try ingest.enqueue(batch: errors)
      guard !batch.requests.isEmpty else { continue }
      guard await queue.put(batch) else { return }
    }
  }

  /// Decodes requests in order; a large batch in two halves at once, on both cores.
  private func decode(_ messages: [Message], events: Int) async -> (IngestBatch, errors: [[[UInt8]]]) {
    guard events >= 128, messages.count >= 2 else { return decode(messages[...]) }
    var split = messages.startIndex
    var counted = 0
    while split < messages.endIndex - 1, counted < events / 2 {
      counted += max(0, messages[split].count - 3)
      split += 1
    }
    async let firstHalf = decode(messages[..<split])
    let (second, secondErrors) = decode(messages[split...])
    var (batch, errors) = await firstHalf
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
    guard message.count - 3 <= Broker.maximumEventsPerRequest else {
      metrics.badRequest(socket: "ingest", field: "events")
      let reason = "\(message.count - 3) events in one request; at most \(Broker.maximumEventsPerRequest)"
      errors.append(errorReply(message, ProtocolError(field: "events", reason: reason)))
      return
    }
    var request = IngestBatch.Request(
      routingId: message[0].bytes, requestId: message[2].bytes,
      outcomes: Array(repeating: nil, count: message.count - 3))
    for index in 3..<message.count {
      let body = message[index].bytes
      do {
        let event = try CloudEvent.decodeEnvelope(body)
        if event.type.hasPrefix("~") {
          metrics.rejected(field: "type")
          request.outcomes[index - 3] = PublishOutcome(
            rejectedField: "type", reason: "types starting with \"~\" are reserved for the bus")
          continue
        }
        batch.entries.append(Journal.Entry(event: event, body: body))
        batch.slots.append((batch.requests.count, index - 3))
      } catch {
        metrics.rejected(field: error.field)
        request.outcomes[index - 3] = PublishOutcome(rejectedField: error.field, reason: error.explanation)
      }
    }
    batch.requests.append(request)
  }

  /// The committing stage: one journal transaction for everything queued; then, while the next
  /// transaction runs, the `ACK`s and the live stream of this one (in commit order).
  private func commitBatches(from queue: IngestQueue, ingest: AsyncSocket, live: AsyncSocket) async throws {
    defer { queue.finish() }
    var answering: Task<Void, any Error>?
    while true {
      let batches = await queue.takeAll()
      guard !batches.isEmpty else { break }
      let entries = batches.count == 1 ? batches[0].entries : batches.flatMap(\.entries)
      let started = ContinuousClock.now
      let appended = try await journal.append(entries)
      metrics.commitSeconds.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
      metrics.batchSize.record(entries.count)
      let previous = answering
      answering = Task {
        try await previous?.value
        try answer(batches, appended, ingest: ingest, live: live)
      }
    }
    try await answering?.value
    try await ingest.flush()
    try await live.flush()
  }

  /// Acknowledges committed batches and sends their stored events out live.
  private func answer(
    _ batches: [IngestBatch], _ appended: [Journal.Appended], ingest: AsyncSocket, live: AsyncSocket
  ) throws {
    var replies: [[[UInt8]]] = []
    var fanOut: [[[UInt8]]] = []
    fanOut.reserveCapacity(appended.count)
    var cursor = 0
    for batch in batches {
      var requests = batch.requests
      for (slot, entry) in zip(batch.slots, batch.entries) {
        let result = appended[cursor]
        cursor += 1
        requests[slot.request].outcomes[slot.index] = PublishOutcome(
          status: result.status, position: result.position)
        guard result.status == .stored else { continue }
        var topic = topicPrefixes[result.position.partition]
        topic.append(contentsOf: entry.type.utf8)
        fanOut.append([topic, result.position.wire, entry.body])
      }
      for request in requests {
        replies.append(
          [request.routingId, Array(Command.ack.rawValue.utf8), request.requestId]
            + request.outcomes.map {
              WireJSON.encode($0 ?? PublishOutcome(rejectedField: "$", reason: "internal"))
            })
      }
    }
    let stored = fanOut.count
    metrics.stored.increment(by: stored)
    metrics.duplicates.increment(by: appended.count - stored)
    // Acknowledge first: the events are durable; live delivery is best effort, repaired by replay.
    try ingest.enqueue(batch: replies)
    try live.enqueue(batch: fanOut)
    metrics.fannedOut.increment(by: stored)
  }

  func errorReply(_ message: Message, _ error: ProtocolError) -> [[UInt8]] {
    let requestId = message.count > 2 ? message[2].bytes : []
    return [message[0].bytes, Array(Command.error.rawValue.utf8), requestId, WireJSON.encode(error)]
  }
}
