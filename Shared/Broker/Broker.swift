import Foundation
import Logging
import Metrics
import PasserelleBus
import PasserelleEvents
import PasserelleStorage
import ServiceLifecycle
import ZeroMQ

/// `passerelle-bus`'s engine: ingest with acknowledgement, the journal, fan-out, replay.
///
/// Three sockets (docs/PROTOCOL.md): a ROUTER for `PUBLISH`, an XPUB for the live stream, and a
/// ROUTER for queries (`INFO`, `FETCH`, `POSITION`, `LAG`). Ingest is group-committed: every
/// request that arrived while the previous transaction was being fsynced goes into the next one,
/// then each publisher gets its `ACK` and the stored events go out live. On graceful shutdown the
/// broker stops taking requests, finishes the batch in hand, acknowledges it, and returns.
public struct Broker: Service {
  let configuration: BrokerConfiguration
  let journal: Journal
  let logger: Logger
  private let onReady: @Sendable () -> Void
  let metrics = BrokerMetrics()
  /// Each partition's topic prefix (`"0007|"`), as the live stream's first frame starts.
  let topicPrefixes: [[UInt8]]

  /// Creates a broker over an open journal; `onReady` runs once every socket is bound.
  public init(
    configuration: BrokerConfiguration, journal: Journal, logger: Logger,
    onReady: @escaping @Sendable () -> Void = {}
  ) {
    self.configuration = configuration
    self.journal = journal
    self.logger = logger
    self.onReady = onReady
    self.topicPrefixes = (0..<configuration.partitions).map { Array(Topic.prefix(partition: $0).utf8) }
  }

  public func run() async throws {
    let context = try Context()
    defer { context.shutdown() }
    let metrics = self.metrics
    let zap: ZAPAuthenticator? =
      if let security = configuration.security {
        try await ZAPAuthenticator(context, allowedClientKeys: security.allowedClientKeys) { decision in
          if !decision.accepted { metrics.refusedClient() }
        }
      } else { nil }
    let secretKey = configuration.security?.keyPair.secretKey
    let secure: @Sendable (Socket) throws -> Void = { socket in
      if let secretKey {
        try socket.set(.curveServer(secretKey: secretKey))
        try socket.set(.zapDomain("passerelle"))
      }
    }
    let liveHighWaterMark = configuration.liveHighWaterMark
    let live = try await AsyncSocket(context, type: .xpub) { socket in
      try secure(socket)
      try socket.set(.sendHighWaterMark(liveHighWaterMark))
    }
    let query = try await AsyncSocket(context, type: .router) { socket in
      try secure(socket)
      // Query requests are small JSON documents (docs/PROTOCOL.md); a peer sending more is disconnected.
      try socket.set(.maximumMessageSize(Int64(BusLimits.maximumQueryBytes)))
    }
    let endpoints = configuration.endpoints
    try await BindFailure.naming(.live, endpoints.live) { _ = try await live.bind(endpoints.live) }
    try await BindFailure.naming(.query, endpoints.query) { _ = try await query.bind(endpoints.query) }
    let ingest = try await BindFailure.naming(.ingest, endpoints.ingest) {
      try await IngestThread.start(context, endpoint: endpoints.ingest) { socket in
        try secure(socket)
        try socket.set(.receiveHighWaterMark(10_000))
        // One event is at most 1 MiB (docs/PROTOCOL.md); a peer sending more is disconnected.
        try socket.set(.maximumMessageSize(Int64(BusLimits.maximumEventBytes)))
      } serve: { socket, thread in
        try ingestLoop(socket, live: live, thread: thread)
      }
    }
    logger.info(
      "bus listening",
      metadata: [
        "ingest": "\(endpoints.ingest)", "live": "\(endpoints.live)", "query": "\(endpoints.query)",
        "partitions": "\(configuration.partitions)", "curve": "\(configuration.security != nil)",
      ])
    onReady()

    let failure: (any Error)? = await withTaskGroup(of: (part: Part, error: (any Error)?).self) { group in
      if let zap { group.addTask { await Self.outcome(.authentication) { try await zap.run() } } }
      group.addTask { await Self.outcome(.subscriptions) { try await drainSubscriptions(live) } }
      group.addTask { await Self.outcome(.queries) { try await serveQueries(query) } }
      group.addTask { await Self.outcome(.heads) { try await announceHeads(live) } }
      group.addTask { await Self.outcome(.retention) { try await enforceRetention() } }
      group.addTask { await Self.outcome(.ingest) { try await serveIngest(ingest, live: live) } }
      // Ingest ends first on graceful shutdown, or with the error that stopped it. Any other part
      // ending first is a fault that stops the bus: without its ZAP handler, for one, libzmq
      // would let every CURVE client in.
      var failure: (any Error)?
      while let ended = await group.next() {
        if ended.part == .ingest {
          failure = failure ?? ended.error
          break
        }
        if failure == nil {
          failure = ended.error ?? PartStopped(part: ended.part)
          live.close()
          query.close()
          ingest.stop()
        }
      }
      // Closed before the ZAP handler goes, for the same reason.
      live.close()
      query.close()
      group.cancelAll()
      return failure
    }
    // Only once no CURVE socket is left (closed by their threads, not just asked to close):
    // unbound, the endpoint would let every client in.
    await live.closeAndWait()
    await query.closeAndWait()
    zap?.close()
    if let failure { throw failure }
    logger.info("bus drained")
  }

  /// The concurrent parts of a running bus.
  enum Part: String, Sendable {
    case authentication, subscriptions, queries, heads, retention, ingest
  }

  /// A part of the bus ended while the bus was running.
  struct PartStopped: Error, CustomStringConvertible {
    let part: Part
    var description: String { "the bus's \(part.rawValue) task ended while the bus was running" }
  }

  /// Runs `body` and says how it ended, so that the first part to end can be told from the others.
  private static func outcome(_ part: Part, _ body: () async throws -> Void) async -> (
    part: Part, error: (any Error)?
  ) {
    do {
      try await body()
      return (part, nil)
    } catch {
      return (part, error)
    }
  }

  // MARK: Queries

  private func serveQueries(_ query: AsyncSocket) async throws {
    for try await message in query.messages {
      try await query.send(await answer(message))
    }
  }

  private func answer(_ message: Message) async -> [[UInt8]] {
    guard message.count >= 3 else {
      metrics.badRequest(socket: "query", field: "command")
      return errorReply(
        message, ProtocolError(field: "command", reason: "a request is [command, request-id, body…]"))
    }
    let head = [message[0].bytes]
    let requestId = message[2].bytes
    do {
      switch Command(rawValue: message[1].string) {
      case .info:
        let info = JournalInfo(partitions: configuration.partitions, heads: journal.currentHeads)
        return head + [Array(Command.info.rawValue.utf8), requestId, WireJSON.encode(info)]
      case .fetch:
        guard message.count >= 4 else { throw ProtocolError(field: "body", reason: "missing") }
        let request = try WireJSON.decode(FetchRequest.self, from: message[3], field: "body")
        let (header, bodies) = try await journal.fetch(request)
        metrics.replayed.increment(by: bodies.count)
        return head + [Array(Command.events.rawValue.utf8), requestId, WireJSON.encode(header)] + bodies
      case .position:
        guard message.count >= 4 else { throw ProtocolError(field: "body", reason: "missing") }
        let report = try WireJSON.decode(PositionReport.self, from: message[3], field: "body")
        try await journal.record(report)
        metrics.subscriberLag.record(
          subscriber: report.subscriber, partition: report.partition, offset: report.offset,
          heads: journal.currentHeads)
        return head + [Array(Command.ok.rawValue.utf8), requestId]
      case .lag:
        return head + [Array(Command.lag.rawValue.utf8), requestId, WireJSON.encode(try await journal.lag())]
      default:
        throw ProtocolError(
          field: "command", reason: "unknown command \"\(message[1].string)\" on the query socket")
      }
    } catch let error as ProtocolError {
      metrics.badRequest(socket: "query", field: error.field)
      return errorReply(message, error)
    } catch {
      logger.error("query failed", metadata: ["error": "\(error)"])
      return errorReply(message, ProtocolError(field: "journal", reason: "\(error)"))
    }
  }

  // MARK: Live stream housekeeping

  /// Reads XPUB's subscription messages so they never pile up.
  private func drainSubscriptions(_ live: AsyncSocket) async throws {
    for try await message in live.messages {
      guard let first = message.frames.first, first.count > 0 else { continue }
      let subscribed = first.withUnsafeBytes { $0[0] == 1 }
      logger.debug(
        "live subscription",
        metadata: ["subscribed": "\(subscribed)", "topic": "\(first.string.dropFirst())"])
    }
  }

  /// Announces every partition's head so an idle subscriber notices events it missed, and brings
  /// the subscribers' lag gauges and the journal's size gauges up to date.
  private func announceHeads(_ live: AsyncSocket) async throws {
    metrics.subscriberLag.load(try await journal.lag())
    while !Task.isCancelled {
      try await Task.sleep(for: configuration.headInterval)
      let heads = journal.currentHeads
      try await live.send(
        batch: heads.enumerated().map { partition, head in
          [
            Array(Topic.topic(partition: partition, type: Topic.headMarker).utf8),
            EventPosition(partition: partition, offset: head).wire, [],
          ]
        })
      metrics.subscriberLag.publish(heads: heads)
      let size = journal.size
      metrics.journalEvents.record(size.events)
      metrics.journalBytes.record(size.bytes)
    }
  }

  /// Applies retention.
  private func enforceRetention() async throws {
    while !Task.isCancelled {
      do {
        let cutoff = configuration.retentionAge.map { Date().addingTimeInterval(-$0.seconds) }
        let removed = try await journal.prune(storedBefore: cutoff, maxBytes: configuration.retentionBytes)
        if removed > 0 {
          metrics.pruned.increment(by: removed)
          logger.info("retention removed events", metadata: ["events": "\(removed)"])
        }
      } catch {
        metrics.retentionFailures.increment()
        logger.error("retention failed", metadata: ["error": "\(error)"])
      }
      try await Task.sleep(for: configuration.retentionInterval)
    }
  }
}

extension Duration {
  /// Whole nanoseconds, saturating.
  var nanoseconds: Int64 {
    let (seconds, attoseconds) = components
    return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
  }

  /// The duration in seconds as a `Double`.
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
