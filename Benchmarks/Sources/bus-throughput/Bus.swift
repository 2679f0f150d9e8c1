import Foundation
import PasserelleBus
import RawZMQ
import ZeroMQ

#if canImport(Glibc)
  import Glibc
#endif

/// `passerelle-bus` as a child process on a fresh temporary directory (ipc endpoints, SQLite journal).
final class BusProcess: @unchecked Sendable {
  let directory: String
  let endpoints: BusEndpoints
  let process = Process()

  init(binary: String, transport: String) throws {
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      throw BenchmarkFailure(
        "no passerelle-bus at \(binary): cd .. && swift build -c release --product passerelle-bus --scratch-path .build-release"
      )
    }
    directory = try makeTemporaryDirectory("passerelle-bench-bus")
    if transport == "tcp" {
      let ports = try freePorts(3)
      endpoints = BusEndpoints(
        ingest: "tcp://127.0.0.1:\(ports[0])", live: "tcp://127.0.0.1:\(ports[1])",
        query: "tcp://127.0.0.1:\(ports[2])")
    } else {
      endpoints = BusEndpoints(
        ingest: "ipc://\(directory)/ingest.sock", live: "ipc://\(directory)/live.sock",
        query: "ipc://\(directory)/query.sock")
    }
    var environment = ProcessInfo.processInfo.environment
    environment["PASSERELLE_BUS_INGEST"] = endpoints.ingest
    environment["PASSERELLE_BUS_LIVE"] = endpoints.live
    environment["PASSERELLE_BUS_QUERY"] = endpoints.query
    environment["PASSERELLE_BUS_DATABASE_URL"] = "sqlite:\(directory)/journal.db"
    environment["PASSERELLE_HTTP_PORT"] = "0"
    environment["PASSERELLE_LOG_LEVEL"] = "warning"
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = []
    process.environment = environment
    FileManager.default.createFile(atPath: "\(directory)/bus.log", contents: nil)
    let output = FileHandle(forWritingAtPath: "\(directory)/bus.log")
    process.standardOutput = output
    process.standardError = output
    try process.run()
    Cleanup.track(pid: process.processIdentifier)
  }

  /// A fresh bus, answering INFO; shut down again if it does not get there.
  static func started(binary: String, transport: String) async throws -> BusProcess {
    let bus = try BusProcess(binary: binary, transport: transport)
    do {
      try await bus.waitUntilReady()
    } catch {
      bus.shutdown()
      throw error
    }
    return bus
  }

  /// Waits until the bus answers INFO.
  func waitUntilReady() async throws {
    let client = try BusClient(endpoints: endpoints)
    let deadline = nowNanos() + 15_000_000_000
    while nowNanos() < deadline {
      guard process.isRunning else { throw BenchmarkFailure("passerelle-bus exited:\n\(logTail())") }
      if (try? await client.info(timeout: .milliseconds(300))) != nil { return }
      try await Task.sleep(nanoseconds: 50_000_000)
    }
    throw BenchmarkFailure("passerelle-bus not ready in 15 s:\n\(logTail())")
  }

  func logTail() -> String {
    let text = (try? String(contentsOfFile: "\(directory)/bus.log", encoding: .utf8)) ?? ""
    return String(text.suffix(2000))
  }

  /// SIGTERM (graceful drain), then removes the directory.
  func shutdown() {
    stop(process)
    Cleanup.removeDirectory(directory)
  }
}

/// `count` distinct free loopback TCP ports (bound to port 0, read back, closed).
func freePorts(_ count: Int) throws -> [Int] {
  var ports: [Int] = []
  var sockets: [Int32] = []
  defer { for socket in sockets { close(socket) } }
  for _ in 0..<count {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchmarkFailure("socket() failed") }
    sockets.append(fd)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
      }
    }
    guard bound else { throw BenchmarkFailure("bind() failed") }
    ports.append(Int(UInt16(bigEndian: address.sin_port)))
  }
  return ports
}

/// The live-stream subscribers of one benchmark, opened as `BusClient.liveSocket(prefixes: [""])` does.
struct LiveSubscribers {
  let clients: [BusClient]
  let sockets: [AsyncSocket]

  static func open(_ endpoints: BusEndpoints, count: Int) async throws -> LiveSubscribers {
    var clients: [BusClient] = []
    var sockets: [AsyncSocket] = []
    for _ in 0..<count {
      let client = try BusClient(endpoints: endpoints)
      clients.append(client)
      sockets.append(try await client.liveSocket(prefixes: [""]))
    }
    return LiveSubscribers(clients: clients, sockets: sockets)
  }

  /// Slow joiner: publishes warm-up events until every subscriber has received one.
  func warmUp(_ publisher: BusClient) async throws {
    let template = try EventTemplate(prefix: "warm\(UInt32.random(in: 0...UInt32.max))", size: 500)
    let sockets = self.sockets
    try await withTimeout(15, "warm-up") {
      try await withThrowingTaskGroup(of: Void.self) { group in
        for socket in sockets {
          group.addTask {
            while true {
              let message = try await socket.receive()
              if message.count == 3, message[2].count > 0 { return }
            }
          }
        }
        group.addTask {
          for index in 0..<10_000 {
            _ = try await publisher.publish([template.body(index)])
            try await Task.sleep(nanoseconds: 20_000_000)
          }
        }
        // The publisher task never finishes first: wait for the subscribers only.
        for _ in sockets { try await group.next() }
        group.cancelAll()
      }
    }
    // Let the last warm-up events pass before a measured run starts.
    try await Task.sleep(nanoseconds: 100_000_000)
    for socket in sockets { while socket.receiveIfAvailable() != nil {} }
  }

  func close() {
    for socket in sockets { socket.close() }
  }
}

struct BusThroughput: Sendable {
  var acked: Double
  var delivered: Double
  var events: Int
  /// The C driver's observations, for the log.
  var notes = ""
}

struct BusLatency: Sendable {
  var ack: Percentiles
  var deliver: Percentiles
  var late: Int
  var events: Int
  /// The C driver's observations, for the log.
  var notes = ""
}

// MARK: - The C driver (Sources/RawZMQ/busdrive.c)

/// What `bus_drive_*` observed without failing the run (ordering, foreign events, heartbeats).
private func observations(_ result: bus_drive_result_t) -> String {
  "\(result.requests) requests, \(result.partitions_seen) partitions, \(result.warmup_events) warm-up events, "
    + "\(result.acks_out_of_order) ACKs out of order, \(result.ack_offset_gaps) ACK offset gaps, "
    + "\(result.live_order_errors) live order errors, \(result.live_foreign) foreign, \(result.live_heartbeats) heartbeats"
}

/// Max throughput with `bus_drive_throughput`: one DEALER keeps `inFlight` PUBLISH requests of `batch` 500-byte events
/// outstanding for `seconds`; `subscribers` SUB threads count every acknowledged event. Blocks the calling thread.
func cDriverThroughput(
  _ endpoints: BusEndpoints, subscribers: Int, inFlight: Int, batch: Int, seconds: Double, tag: String
) throws -> BusThroughput {
  var result = bus_drive_result_t()
  var error = [CChar](repeating: 0, count: 512)
  let status = bus_drive_throughput(
    endpoints.ingest, endpoints.live, Int32(subscribers), Int32(inFlight), Int32(batch), seconds, 500, tag,
    &result, &error, error.count)
  guard status == 0 else { throw BenchmarkFailure("C driver, throughput: " + cString(error)) }
  return BusThroughput(
    acked: result.acked_per_sec, delivered: result.delivered_per_sec, events: result.events,
    notes: observations(result))
}

/// Latency with `bus_drive_latency`: one DEALER sends event i alone at origin + i/rate, without waiting for ACKs;
/// latencies from the send start to the ACK and to each subscriber's receipt. Blocks the calling thread.
func cDriverLatency(
  _ endpoints: BusEndpoints, subscribers: Int, rate: Double, seconds: Double, tag: String
) throws -> BusLatency {
  let count = bus_drive_latency_count(rate, seconds)
  guard count > 0 else {
    throw BenchmarkFailure("C driver, latency: no events at \(rate)/s for \(seconds) s")
  }
  var ack = [Int64](repeating: -1, count: count)
  var deliver = [Int64](repeating: -1, count: count * subscribers)
  var result = bus_drive_result_t()
  var error = [CChar](repeating: 0, count: 512)
  let status = bus_drive_latency(
    endpoints.ingest, endpoints.live, Int32(subscribers), rate, seconds, 500, tag, &ack, &deliver, &result,
    &error, error.count)
  guard status == 0 else { throw BenchmarkFailure("C driver, latency: " + cString(error)) }
  return BusLatency(
    ack: Percentiles(nanoseconds: ack), deliver: Percentiles(nanoseconds: deliver), late: result.late,
    events: count, notes: observations(result))
}

// MARK: - The Swift driver (BusClient)

/// Max throughput: `publishers` clients (each as one `BusClient`), each publishing `batch` events per request and awaiting
/// the ACK, for `seconds`; then waits until every subscriber has every event.
func busThroughput(
  _ endpoints: BusEndpoints, subscribers: LiveSubscribers, publishers: Int, batch: Int, seconds: Double,
  tag: String
) async throws -> BusThroughput {
  let template = try EventTemplate(prefix: tag, size: 500)
  let prefix = Array(tag.utf8)
  var made: [BusClient] = []
  for _ in 0..<publishers {
    let client = try BusClient(endpoints: endpoints)
    _ = try await client.info()  // connect before the clock starts
    made.append(client)
  }
  let clients = made
  let progress = subscribers.sockets.map { _ in Progress() }
  let counter = Counter()
  let start = nowNanos()
  let stopAt = start + Int64(seconds * 1e9)

  return try await withThrowingTaskGroup(of: Void.self) { group in
    for (socket, progress) in zip(subscribers.sockets, progress) {
      group.addTask {
        while !Task.isCancelled {
          let message = try await socket.receive()
          guard message.count == 3 else { continue }
          let matched = message[2].withUnsafeBytes { eventIndex($0, prefix: prefix) != nil }
          if matched {
            progress.received.add(1, ordering: .relaxed)
            progress.lastReceive.store(nowNanos(), ordering: .relaxed)
          }
        }
      }
    }
    let acks = try await withThrowingTaskGroup(of: (Int, Int64).self) { publishing in
      for client in clients {
        publishing.addTask {
          var stored = 0
          var lastAck: Int64 = 0
          while nowNanos() < stopAt {
            var bodies: [[UInt8]] = []
            bodies.reserveCapacity(batch)
            for _ in 0..<batch { bodies.append(template.body(counter.next())) }
            let outcomes = try await client.publish(bodies, timeout: .seconds(30))
            for outcome in outcomes {
              guard outcome.status == .stored else { throw BenchmarkFailure("publish outcome \(outcome)") }
            }
            stored += outcomes.count
            lastAck = nowNanos()
          }
          return (stored, lastAck)
        }
      }
      var total = 0
      var lastAck: Int64 = 0
      for try await (stored, last) in publishing {
        total += stored
        lastAck = max(lastAck, last)
      }
      return (total, lastAck)
    }
    let (total, lastAck) = acks
    let deadline = nowNanos() + 60_000_000_000
    while progress.contains(where: { $0.received.load(ordering: .relaxed) < total }) {
      guard nowNanos() < deadline else {
        let counts = progress.map { $0.received.load(ordering: .relaxed) }
        group.cancelAll()
        throw BenchmarkFailure("delivered \(counts) of \(total) within 60 s")
      }
      try await Task.sleep(nanoseconds: 2_000_000)
    }
    group.cancelAll()
    let counts = progress.map { $0.received.load(ordering: .relaxed) }
    guard counts.allSatisfy({ $0 == total }) else {
      throw BenchmarkFailure("delivered \(counts), expected \(total)")
    }
    let lastDelivery = progress.map { $0.lastReceive.load(ordering: .relaxed) }.max() ?? lastAck
    return BusThroughput(
      acked: Double(total) / (Double(lastAck - start) / 1e9),
      delivered: Double(total) / (Double(max(lastDelivery, lastAck) - start) / 1e9), events: total)
  }
}

/// Latency at a fixed rate: event i is due at origin + i/rate; `workers` clients (each as one `BusClient`) take every
/// `workers`-th event, sleep until it is due and publish it alone (batch of 1), awaiting the ACK.
/// Latencies are from the publish start (the call to `publish`); `late` counts events whose
/// publish started more than 1 ms after they were due (the driver falling behind the rate).
func busLatency(
  _ endpoints: BusEndpoints, subscribers: LiveSubscribers, rate: Double, seconds: Double, workers: Int,
  tag: String
) async throws -> BusLatency {
  let template = try EventTemplate(prefix: tag, size: 500)
  let prefix = Array(tag.utf8)
  let count = Int(rate * seconds)
  var made: [BusClient] = []
  for _ in 0..<workers {
    let client = try BusClient(endpoints: endpoints)
    _ = try await client.info()
    made.append(client)
  }
  let clients = made
  let acks = Int64Table(count: count)
  let starts = Int64Table(count: count)
  let received = subscribers.sockets.map { _ in Int64Table(count: count) }
  let origin = nowNanos() + 200_000_000
  let period = 1e9 / rate
  @Sendable func due(_ index: Int) -> Int64 { origin + Int64(Double(index) * period) }

  try await withTimeout(seconds + 60, "latency run") {
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (socket, table) in zip(subscribers.sockets, received) {
        group.addTask {
          var got = 0
          while got < count {
            let message = try await socket.receive()
            guard message.count == 3 else { continue }
            let now = nowNanos()
            if let index = message[2].withUnsafeBytes({ eventIndex($0, prefix: prefix) }), index < count,
              table[index] == 0
            {
              table[index] = now
              got += 1
            }
          }
        }
      }
      for (worker, client) in zip(0..., clients) {
        group.addTask {
          for index in stride(from: worker, to: count, by: workers) {
            try await sleep(untilNanos: due(index))
            starts[index] = nowNanos()
            let outcomes = try await client.publish([template.body(index)], timeout: .seconds(30))
            guard outcomes.first?.status == .stored else {
              throw BenchmarkFailure("publish outcome \(outcomes)")
            }
            acks[index] = nowNanos()
          }
        }
      }
      try await group.waitForAll()
    }
  }
  var ackSamples: [Int64] = []
  var deliverSamples: [Int64] = []
  var late = 0
  for index in 0..<count {
    ackSamples.append(acks[index] - starts[index])
    if starts[index] - due(index) > 1_000_000 { late += 1 }
    for table in received { deliverSamples.append(table[index] - starts[index]) }
  }
  return BusLatency(
    ack: Percentiles(nanoseconds: ackSamples), deliver: Percentiles(nanoseconds: deliverSamples), late: late,
    events: count)
}
