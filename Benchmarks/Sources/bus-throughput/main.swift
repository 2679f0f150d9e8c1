import Foundation
import PasserelleBus
import RawZMQ

#if canImport(Glibc)
  import Glibc
#endif

// bus-throughput [--runs 3] [--subscribers 1,4] [--systems bus,zmq,live,redis,nats] [--driver c,swift]
//                [--swift-client on|off] [--publishers 1,8,32] [--batches 1,10,100]
//                [--throughput-seconds 2] [--rate 10000] [--seconds 10] [--latency-publishers 32]
//                [--transport ipc|tcp] [--bus ../.build-release/release/passerelle-bus]
//                [--python python3] [--baselines Scripts/baselines.py] [--zmq-count 300000]
//                [--ids sequential|scattered]
//
// Issue 4: durable publish → ACK → live delivery of 500-byte events through passerelle-bus,
// beside Redis Streams (appendfsync always), NATS JetStream and raw libzmq PUB/SUB, all in the
// same run. The bus is driven by the lean C driver (Sources/RawZMQ/busdrive.c: the grid of
// requests in flight × batch, and the latency run) and, as a second measurement, by Swift
// `BusClient`s (32 × 100 and the latency run). The bus's live fan-out path alone (its AsyncSocket XPUB fed
// as the ingest loop feeds it (`answers(_:_:)`, `enqueue(batch:)`), no journal; Live.swift) is measured against the raw libzmq fan-out with the same
// C subscribers. Runs are interleaved (run 1 of every system and
// subscriber count, then run 2, …); the tables on stdout are medians over runs. Progress goes to
// stderr. See docs/BENCHMARKS.md.

Cleanup.installSignalHandlers()

let runs = Int(argument("--runs") ?? "") ?? 3
let subscriberCounts = intList("--subscribers", [1, 4])
let systems = Set((argument("--systems") ?? "bus,zmq,live,redis,nats").split(separator: ",").map(String.init))
if let unknown = systems.subtracting(["bus", "zmq", "live", "redis", "nats"]).first {
  log("unknown system \(unknown): --systems takes bus, zmq, live, redis, nats")
  exit(2)
}
/// Who drives the bus: the C driver (the main rows) and/or Swift `BusClient`s (one configuration).
let drivers = Set((argument("--driver") ?? "c,swift").split(separator: ",").map(String.init))
  .subtracting(argument("--swift-client") == "off" ? ["swift"] : [])
if let unknown = drivers.subtracting(["c", "swift"]).first {
  log("unknown driver \(unknown): --driver takes c, swift")
  exit(2)
}
let publisherCounts = intList("--publishers", [1, 8, 32])
let batches = intList("--batches", [1, 10, 100])
let throughputSeconds = Double(argument("--throughput-seconds") ?? "") ?? 2
let rate = Double(argument("--rate") ?? "") ?? 10_000
let seconds = Double(argument("--seconds") ?? "") ?? 10
let latencyWorkers = Int(argument("--latency-publishers") ?? "") ?? 32
let transport = argument("--transport") ?? "ipc"
let busBinary = argument("--bus") ?? "../.build-release/release/passerelle-bus"
let python = argument("--python") ?? "python3"
let baselines = argument("--baselines") ?? "Scripts/baselines.py"
let zmqCount = Int(argument("--zmq-count") ?? "") ?? 300_000
/// The C driver's event ids: ascending, or in no order as random UUIDs come (`bus_drive_scatter_ids`);
/// the Swift driver's stay ascending.
let ids = argument("--ids") ?? "sequential"
guard ["sequential", "scattered"].contains(ids) else {
  log("--ids takes sequential or scattered")
  exit(2)
}
bus_drive_scatter_ids(ids == "scattered" ? 1 : 0)
/// The Swift driver's one throughput configuration: clients (one request in flight each) × events per request.
let swiftPublishers = 32
let swiftBatch = 100
let busC = systems.contains("bus") && drivers.contains("c")
let busSwift = systems.contains("bus") && drivers.contains("swift")

/// Every sample, by metric name: the tables print medians.
nonisolated(unsafe) var samples: [String: [Double]] = [:]
func record(_ key: String, _ value: Double) { samples[key, default: []].append(value) }
func med(_ key: String) -> Double { median(samples[key] ?? []) }
func record(_ key: String, _ percentiles: Percentiles) {
  record(key + ".p50", percentiles.p50)
  record(key + ".p99", percentiles.p99)
  record(key + ".p999", percentiles.p999)
  record(key + ".max", percentiles.max)
}

let tags = Counter()
func nextTag() -> String { "t\(tags.next())r\(UInt16.random(in: 0...UInt16.max))" }

// MARK: - One run of each system

func logLatency(_ label: String, run: Int, subscribers: Int, _ latency: BusLatency) {
  log(
    "run \(run) \(label) S=\(subscribers) latency at \(Int(rate))/s: ack p50 \(ms(latency.ack.p50)) "
      + "p99 \(ms(latency.ack.p99)) p99.9 \(ms(latency.ack.p999)); deliver p50 \(ms(latency.deliver.p50)) "
      + "p99 \(ms(latency.deliver.p99)) p99.9 \(ms(latency.deliver.p999)) ms; \(latency.late) of \(latency.events) "
      + "started >1 ms late" + (latency.notes.isEmpty ? "" : " (\(latency.notes))"))
}

/// The C driver: every P × B of the grid on one fresh bus, then the latency run on another (so that it does not
/// start behind a journal the grid filled). Each call opens its own DEALER and SUBs and warms them up.
func runBusC(run: Int, subscribers: Int) async throws {
  do {
    let bus = try await BusProcess.started(binary: busBinary, transport: transport)
    defer { bus.shutdown() }
    for publishers in publisherCounts {
      for batch in batches {
        let result = try cDriverThroughput(
          bus.endpoints, subscribers: subscribers, inFlight: publishers, batch: batch,
          seconds: throughputSeconds, tag: nextTag())
        let key = "bus.c.thr.\(subscribers).\(publishers).\(batch)"
        record(key + ".acked", result.acked)
        record(key + ".delivered", result.delivered)
        log(
          "run \(run) bus (C driver) S=\(subscribers) P=\(publishers) B=\(batch): \(thousands(result.acked)) acked/s, "
            + "\(thousands(result.delivered)) delivered/s per subscriber "
            + "(\(result.events) events; \(result.notes))")
      }
    }
  }
  let bus = try await BusProcess.started(binary: busBinary, transport: transport)
  defer { bus.shutdown() }
  let latency = try cDriverLatency(
    bus.endpoints, subscribers: subscribers, rate: rate, seconds: seconds, tag: nextTag())
  record("bus.c.lat.\(subscribers).ack", latency.ack)
  record("bus.c.lat.\(subscribers).deliver", latency.deliver)
  record("bus.c.lat.\(subscribers).late", Double(latency.late))
  logLatency("bus (C driver)", run: run, subscribers: subscribers, latency)
}

/// The Swift driver (`BusClient`s, subscribers as `BusClient.liveSocket`): 32 × 100, then the latency run, on a
/// fresh bus of its own.
func runBusSwift(run: Int, subscribers: Int) async throws {
  let bus = try await BusProcess.started(binary: busBinary, transport: transport)
  defer { bus.shutdown() }
  let live = try await LiveSubscribers.open(bus.endpoints, count: subscribers)
  defer { live.close() }
  let warm = try BusClient(endpoints: bus.endpoints)
  try await live.warmUp(warm)
  let result = try await busThroughput(
    bus.endpoints, subscribers: live, publishers: swiftPublishers, batch: swiftBatch,
    seconds: throughputSeconds, tag: nextTag())
  record("bus.swift.thr.\(subscribers).acked", result.acked)
  record("bus.swift.thr.\(subscribers).delivered", result.delivered)
  log(
    "run \(run) passerelle-bus, Swift BusClient driver S=\(subscribers) P=\(swiftPublishers) B=\(swiftBatch): "
      + "\(thousands(result.acked)) acked/s, \(thousands(result.delivered)) delivered/s per subscriber "
      + "(\(result.events) events)")
  let latency = try await busLatency(
    bus.endpoints, subscribers: live, rate: rate, seconds: seconds, workers: latencyWorkers, tag: nextTag())
  record("bus.swift.lat.\(subscribers).ack", latency.ack)
  record("bus.swift.lat.\(subscribers).deliver", latency.deliver)
  record("bus.swift.lat.\(subscribers).late", Double(latency.late))
  logLatency("passerelle-bus, Swift BusClient driver", run: run, subscribers: subscribers, latency)
}

func rawEndpoint() throws -> (String, String?) {
  if transport == "tcp" { return ("tcp://127.0.0.1:*", nil) }
  let path = "/tmp/passerelle-bench-fanout-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
  return ("ipc://\(path)", path)
}

func runZMQ(run: Int, subscribers: Int) throws {
  var error = [CChar](repeating: 0, count: 256)
  func failure() -> BenchmarkFailure { BenchmarkFailure("raw fan-out: " + cString(error)) }
  do {
    let (endpoint, path) = try rawEndpoint()
    defer { if let path { unlink(path) } }
    let perSecond = raw_fanout_msgs_per_sec(endpoint, 500, zmqCount, Int32(subscribers), &error, error.count)
    guard perSecond > 0 else { throw failure() }
    record("zmq.thr.\(subscribers)", perSecond)
    log("run \(run) raw libzmq S=\(subscribers): \(thousands(perSecond)) msgs/s per subscriber")
  }
  do {
    let (endpoint, path) = try rawEndpoint()
    defer { if let path { unlink(path) } }
    let count = Int(rate * seconds)
    var latencies = [Int64](repeating: -1, count: count * subscribers)
    let status = raw_fanout_latency(
      endpoint, 500, count, rate, Int32(subscribers), &latencies, &error, error.count)
    guard status == 0 else { throw failure() }
    let deliver = Percentiles(nanoseconds: latencies)
    record("zmq.lat.\(subscribers).deliver", deliver)
    log(
      "run \(run) raw libzmq S=\(subscribers) latency at \(Int(rate))/s: p50 \(ms(deliver.p50)) p99 \(ms(deliver.p99)) "
        + "p99.9 \(ms(deliver.p999)) ms")
  }
}

/// The bus's live fan-out path alone (Live.swift), `--zmq-count` messages like the raw fan-out.
func runLive(run: Int, subscribers: Int) async throws {
  let (endpoint, path) = try rawEndpoint()
  defer { if let path { unlink(path) } }
  let result = try await liveFanOutThroughput(endpoint: endpoint, subscribers: subscribers, count: zmqCount)
  record("live.thr.\(subscribers)", result.perSubscriber)
  record("live.handed.\(subscribers)", result.handedOver)
  log(
    "run \(run) passerelle-bus live path (AsyncSocket XPUB, HWM 0, batches of 1,000) S=\(subscribers): "
      + "\(thousands(result.perSubscriber)) msgs/s per subscriber (all taken by libzmq at "
      + "\(thousands(result.handedOver)) msgs/s)")
}

func runBaseline(_ system: String, run: Int, subscribers: Int) async throws {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = [
    python, baselines, system, "--subscribers", "\(subscribers)", "--rate", "\(rate)", "--seconds",
    "\(seconds)",
  ]
  let output = Pipe()
  process.standardOutput = output
  try process.run()
  Cleanup.track(pid: process.processIdentifier)
  // Read stdout while it runs (one JSON line; no pipe-buffer stall), bounded by a deadline.
  let reader = Task.detached { output.fileHandleForReading.readDataToEndOfFile() }
  let deadline = nowNanos() + Int64((seconds + 400) * 1e9)
  while process.isRunning && nowNanos() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
  if process.isRunning {
    stop(process)
    throw BenchmarkFailure("\(system) baseline did not finish in time")
  }
  Cleanup.untrack(pid: process.processIdentifier)
  let data = await reader.value
  let text = String(decoding: data, as: UTF8.self)
  guard process.terminationStatus == 0, let line = text.split(separator: "\n").last,
    let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
  else {
    throw BenchmarkFailure(
      "\(system) baseline failed (status \(process.terminationStatus)): \(text.suffix(500))")
  }
  func number(_ value: Any?) -> Double { (value as? NSNumber)?.doubleValue ?? .nan }
  func percentiles(_ name: String) -> Percentiles {
    let object = json[name] as? [String: Any] ?? [:]
    return Percentiles(
      p50: number(object["p50"]), p99: number(object["p99"]), p999: number(object["p999"]),
      max: number(object["max"]))
  }
  let key = "\(system).\(subscribers)"
  record("\(system).thr.\(subscribers)", number(json["throughput"]))
  if system == "redis" { record("redis.thr1.\(subscribers)", number(json["throughput_unpipelined"])) }
  if system == "nats" { record("nats.thrd.\(subscribers)", number(json["throughput_delivered"])) }
  record("\(system).lat.\(subscribers).ack", percentiles("ack"))
  record("\(system).lat.\(subscribers).deliver", percentiles("deliver"))
  record("\(system).lat.\(subscribers).late", number(json["late"]))
  record("\(system).lat.\(subscribers).missing", number(json["expected"]) - number(json["delivered"]))
  log("run \(run) \(key): \(line)")
}

/// The C driver without subscribers, at the grid's largest configuration, on a fresh bus: acknowledged publishing
/// alone, the work `redis-benchmark`'s XADD rows measure (they have no consumers either).
func runBusCWithoutSubscribers(run: Int) async throws {
  let bus = try await BusProcess.started(binary: busBinary, transport: transport)
  defer { bus.shutdown() }
  let (publishers, batch) = (publisherCounts.max() ?? 32, batches.max() ?? 100)
  let result = try cDriverThroughput(
    bus.endpoints, subscribers: 0, inFlight: publishers, batch: batch, seconds: throughputSeconds,
    tag: nextTag())
  record("bus.c.thr0.acked", result.acked)
  log(
    "run \(run) bus (C driver) no subscriber P=\(publishers) B=\(batch): \(thousands(result.acked)) acked/s "
      + "(\(result.events) events; \(result.notes))")
}

// MARK: - Main

let began = Date()
for run in 1...runs {
  for subscribers in subscriberCounts {
    do {
      if busC { try await runBusC(run: run, subscribers: subscribers) }
      if busC && subscribers == subscriberCounts.first { try await runBusCWithoutSubscribers(run: run) }
      if busSwift { try await runBusSwift(run: run, subscribers: subscribers) }
      if systems.contains("zmq") { try runZMQ(run: run, subscribers: subscribers) }
      if systems.contains("live") { try await runLive(run: run, subscribers: subscribers) }
      if systems.contains("redis") { try await runBaseline("redis", run: run, subscribers: subscribers) }
      if systems.contains("nats") { try await runBaseline("nats", run: run, subscribers: subscribers) }
    } catch {
      log("run \(run) S=\(subscribers): FAILED \(error)")
      Cleanup.all()
      exit(1)
    }
  }
}
Cleanup.all()
log("total \(Int(Date().timeIntervalSince(began))) s")

// MARK: - Tables

print("Medians of \(runs) interleaved runs; 500-byte events; transport \(transport); C driver ids \(ids).\n")
print("Max acknowledged throughput, events/s (per subscriber: every event is delivered to each):\n")
var header = "| system | configuration |"
var rule = "|---|---|"
for subscribers in subscriberCounts {
  header += " S=\(subscribers) acked/s | S=\(subscribers) delivered/s |"
  rule += "---:|---:|"
}
print(header)
print(rule)
func throughputRow(_ system: String, _ configuration: String, _ key: (Int) -> String) {
  var row = "| \(system) | \(configuration) |"
  for subscribers in subscriberCounts {
    let prefix = key(subscribers)
    row += " \(thousands(med(prefix + ".acked"))) | \(thousands(med(prefix + ".delivered"))) |"
  }
  print(row)
}
if busC {
  for publishers in publisherCounts {
    for batch in batches {
      throughputRow("passerelle-bus (C driver)", "\(publishers) in flight × batch \(batch)") {
        "bus.c.thr.\($0).\(publishers).\(batch)"
      }
    }
  }
}
if busC {
  var row =
    "| passerelle-bus (C driver), no subscriber | \(publisherCounts.max() ?? 32) in flight × batch \(batches.max() ?? 100) |"
  for _ in subscriberCounts { row += " \(thousands(med("bus.c.thr0.acked"))) | — |" }
  print(row)
}
if busSwift {
  let configuration = "\(swiftPublishers) × \(swiftBatch) (\(swiftPublishers) clients, 1 in flight each)"
  throughputRow("passerelle-bus (Swift BusClient)", configuration) { "bus.swift.thr.\($0)" }
}
if systems.contains("redis") {
  for (label, key) in [
    ("50 clients, pipeline 16 (redis-benchmark)", "redis.thr"),
    ("50 clients, no pipeline (redis-benchmark)", "redis.thr1"),
  ] {
    var row = "| Redis Streams, appendfsync always | \(label) |"
    for subscribers in subscriberCounts { row += " \(thousands(med("\(key).\(subscribers)"))) | — |" }
    print(row)
  }
}
if systems.contains("nats") {
  var row = "| NATS JetStream 2.9.10, file, default sync | async publish, window 1,000 (Python) |"
  for subscribers in subscriberCounts {
    row += " \(thousands(med("nats.thr.\(subscribers)"))) | \(thousands(med("nats.thrd.\(subscribers)"))) |"
  }
  print(row)
}
if systems.contains("zmq") {
  var row = "| raw libzmq PUB/SUB (C) | 1 publisher thread, no durability, no ack |"
  for subscribers in subscriberCounts { row += " — | \(thousands(med("zmq.thr.\(subscribers)"))) |" }
  print(row)
}
if systems.contains("live") {
  var row =
    "| passerelle-bus live path (AsyncSocket XPUB, batches of 1,000) | no journal, no ack; send HWM 0 "
    + "(the bus: 100,000); the raw row's C subscribers |"
  for subscribers in subscriberCounts { row += " — | \(thousands(med("live.thr.\(subscribers)"))) |" }
  print(row)
}

let liveOn = systems.contains("live")
if busC || liveOn {
  print(
    "\nRatios (medians of the same run" + (busC ? "; the best C-driver configuration by acked/s" : "")
      + "):\n")
  var header = "| S |"
  var rule = "|---:|"
  if busC {
    header +=
      " best C-driver configuration (in flight × batch) | bus acked/s | ÷ Redis always (pipelined) | ÷ NATS "
      + "| bus delivered/s | ÷ raw libzmq |"
    rule += "---|---:|---:|---:|---:|---:|"
  }
  if liveOn {
    header += " live path msgs/s | live path ÷ raw libzmq |"
    rule += "---:|---:|"
  }
  print(header)
  print(rule)
  for subscribers in subscriberCounts {
    var row = "| \(subscribers) |"
    if busC {
      var best = (publishers: 0, batch: 0, rate: -1.0)
      for publishers in publisherCounts {
        for batch in batches {
          let value = med("bus.c.thr.\(subscribers).\(publishers).\(batch).acked")
          if value > best.rate { best = (publishers, batch, value) }
        }
      }
      let delivered = med("bus.c.thr.\(subscribers).\(best.publishers).\(best.batch).delivered")
      row +=
        " \(best.publishers) × \(best.batch) | \(thousands(best.rate)) | "
        + "\(ratio(best.rate / med("redis.thr.\(subscribers)"))) | \(ratio(best.rate / med("nats.thr.\(subscribers)"))) | "
        + "\(thousands(delivered)) | \(ratio(delivered / med("zmq.thr.\(subscribers)"))) |"
    }
    if liveOn {
      let rate = med("live.thr.\(subscribers)")
      row += " \(thousands(rate)) | \(ratio(rate / med("zmq.thr.\(subscribers)"))) |"
    }
    print(row)
  }
}

if busC && systems.contains("redis") {
  let alone = med("bus.c.thr0.acked")
  print(
    "\nWithout subscribers or consumers (acknowledged publishing alone): bus \(thousands(alone)) acked/s ÷ Redis "
      + subscriberCounts.map { "\(ratio(alone / med("redis.thr.\($0)"))) (Redis run of S=\($0))" }.joined(
        separator: ", "))
}

print(
  "\nLatency at \(Int(rate)) events/s for \(Int(seconds)) s, ms (publish start → ACK; publish start → received by each subscriber):\n"
)
print(
  "| system | S | ack p50 | ack p99 | ack p99.9 | deliver p50 | deliver p99 | deliver p99.9 | deliver max | started >1 ms late |"
)
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (system, name, shown) in [
  ("bus.c", "passerelle-bus (C driver)", busC),
  ("bus.swift", "passerelle-bus (Swift BusClient driver, \(latencyWorkers) clients)", busSwift),
  ("redis", "Redis Streams, always", systems.contains("redis")),
  ("nats", "NATS JetStream, default sync", systems.contains("nats")),
  ("zmq", "raw libzmq PUB/SUB", systems.contains("zmq")),
] where shown {
  for subscribers in subscriberCounts {
    let key = "\(system).lat.\(subscribers)"
    let ack =
      system == "zmq"
      ? "— | — | —"
      : "\(ms(med(key + ".ack.p50"))) | \(ms(med(key + ".ack.p99"))) | \(ms(med(key + ".ack.p999")))"
    let late = system == "zmq" ? "—" : "\(Int(med(key + ".late")))"
    print(
      "| \(name) | \(subscribers) | \(ack) | \(ms(med(key + ".deliver.p50"))) | \(ms(med(key + ".deliver.p99"))) | "
        + "\(ms(med(key + ".deliver.p999"))) | \(ms(med(key + ".deliver.max"))) | \(late) |")
  }
}
print("\nEvery run, every metric (for the spread):\n")
for key in samples.keys.sorted() {
  print("- \(key): " + (samples[key] ?? []).map { String(format: "%.3f", $0) }.joined(separator: ", "))
}
