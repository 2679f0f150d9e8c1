import ZeroMQ

/// Direct access to the bus: publish with acknowledgement and the query commands.
///
/// Most services publish through ``Publisher`` (durable local outbox) and consume through
/// ``Subscriber``; this is what both are built on, and what operators' tools use.
public actor BusClient {
  private let context: Context
  /// Where the bus is.
  let endpoints: BusEndpoints
  private let security: BusClientSecurity?
  private var ingest: BusRequester?
  private var query: BusRequester?

  /// Creates a client; sockets connect on first use.
  public init(endpoints: BusEndpoints, security: BusClientSecurity? = nil) throws {
    self.context = try Context()
    self.endpoints = endpoints
    self.security = security
  }

  /// Publishes encoded CloudEvents and returns the bus's outcome for each, in order.
  ///
  /// Returns only once the stored events are durable in the journal. Safe to retry after a
  /// timeout: the bus recognises resent events by `source` + `id`. An event larger than
  /// ``BusLimits/maximumEventBytes`` throws ``ProtocolError`` before anything is sent (the bus
  /// would drop the connection without a reply).
  public func publish(_ bodies: [[UInt8]], timeout: Duration = .seconds(5)) async throws -> [PublishOutcome] {
    for (index, body) in bodies.enumerated() {
      if let problem = BusLimits.sizeProblem(ofEvent: body) {
        throw ProtocolError(field: "$", reason: "event \(index): \(problem)")
      }
    }
    let requester = try await ingestRequester()
    let (kind, frames) = try await requester.request(.publish, bodies, timeout: timeout)
    guard kind == .ack, frames.count == bodies.count else {
      throw ProtocolError(
        field: "reply", reason: "expected ACK with \(bodies.count) outcomes, got \(kind.rawValue)")
    }
    return try frames.map { try WireJSON.decodeOutcome(from: $0) }
  }

  /// The journal's partition count and heads.
  public func info(timeout: Duration = .seconds(5)) async throws -> JournalInfo {
    let (_, frames) = try await queryRequester().request(.info, [], timeout: timeout)
    guard let body = frames.first else { throw ProtocolError(field: "reply", reason: "INFO without a body") }
    return try WireJSON.decode(JournalInfo.self, from: body, field: "info")
  }

  /// Reads events of one partition from an offset on.
  public func fetch(_ request: FetchRequest, timeout: Duration = .seconds(10)) async throws -> (
    header: FetchHeader, bodies: [Frame]
  ) {
    let (_, frames) = try await queryRequester().request(.fetch, [WireJSON.encode(request)], timeout: timeout)
    guard let first = frames.first else {
      throw ProtocolError(field: "reply", reason: "EVENTS without a header")
    }
    let header = try WireJSON.decode(FetchHeader.self, from: first, field: "header")
    let bodies = Array(frames.dropFirst())
    guard bodies.count == header.offsets.count else {
      throw ProtocolError(
        field: "reply", reason: "\(header.offsets.count) offsets but \(bodies.count) events")
    }
    return (header, bodies)
  }

  /// Reports the last offset a subscriber applied in a partition (for `passerelle lag`).
  public func report(_ position: PositionReport, timeout: Duration = .seconds(5)) async throws {
    _ = try await queryRequester().request(.position, [WireJSON.encode(position)], timeout: timeout)
  }

  /// Every reporting subscriber's lag.
  public func lag(timeout: Duration = .seconds(5)) async throws -> LagReport {
    let (_, frames) = try await queryRequester().request(.lag, [], timeout: timeout)
    guard let body = frames.first else { throw ProtocolError(field: "reply", reason: "LAG without a body") }
    return try WireJSON.decode(LagReport.self, from: body, field: "lag")
  }

  /// Opens a SUB socket on the live stream with the given topic prefixes.
  ///
  /// Past `highWaterMark` queued messages libzmq drops for this subscriber; ``Subscriber`` then
  /// repairs the gap from the journal.
  public func liveSocket(prefixes: [String], highWaterMark: Int32 = 100_000) async throws -> AsyncSocket {
    let endpoint = endpoints.live
    let security = self.security
    return try await AsyncSocket(context, type: .sub, readAhead: Int(min(highWaterMark, 4096))) { socket in
      if let security { try socket.set(security.socketOption) }
      try socket.set(.receiveHighWaterMark(highWaterMark))
      try socket.set(.reconnect(interval: 100, maximum: 2000))
      // No ZMTP heartbeats here: a subscriber that stops reading (full queue) cannot see PINGs, and
      // libzmq 4.3.4 then asserts on reconnect (zeromq/libzmq#3937). TCP keepalive instead: the
      // bus's `~head` messages arrive every 500 ms, so 5 s of silence starts the kernel's probes,
      // and a connection whose peer vanished (host down, cable cut) is dropped about 15 s after its
      // last message; libzmq then reconnects and the subscriber repairs what it missed.
      try socket.set(.tcpKeepalive(idle: 5, interval: 2, count: 5))
      for prefix in prefixes { try socket.set(.subscribe(Array(prefix.utf8))) }
      try socket.connect(endpoint)
    }
  }

  private func ingestRequester() async throws -> BusRequester {
    if let ingest { return ingest }
    let requester = try await BusRequester(context, endpoint: endpoints.ingest, security: security)
    ingest = requester
    return requester
  }

  private func queryRequester() async throws -> BusRequester {
    if let query { return query }
    let requester = try await BusRequester(context, endpoint: endpoints.query, security: security)
    query = requester
    return requester
  }
}
