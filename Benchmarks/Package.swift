// swift-tools-version:6.2
import PackageDescription

// Benchmarks for Passerelle, kept out of the root package so that its build and CI never
// resolve or build the benchmark tooling. See README.md.
let package = Package(
  name: "PasserelleBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(path: ".."),
    // Traits as the machine notes require for this package (swift-tools 6.1+ here).
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    // The baseline: the same PUB/SUB transfer written in C against libzmq.
    .target(name: "RawZMQ", path: "Sources/RawZMQ", linkerSettings: [.linkedLibrary("zmq"), .linkedLibrary("pthread")]),
    // The transfers (raw, Socket, AsyncSocket), shared by both runners below.
    .target(
      name: "ZMQBench",
      dependencies: ["RawZMQ", .product(name: "ZeroMQ", package: "main")],
      path: "Sources/ZMQBench"
    ),
    // Plain runner: interleaved repeats, medians and Swift/raw ratios in one table.
    .executableTarget(name: "zmq-throughput", dependencies: ["ZMQBench"], path: "Sources/zmq-throughput"),
    // Issue 4: the bus end to end (publish → ACK → live delivery) beside Redis Streams, NATS
    // JetStream (Scripts/baselines.py) and raw libzmq fan-out (Sources/RawZMQ/fanout.c).
    .executableTarget(
      name: "bus-throughput",
      dependencies: [
        "RawZMQ",
        .product(name: "ZeroMQ", package: "main"),
        .product(name: "PasserelleEvents", package: "main"),
        .product(name: "PasserelleBus", package: "main"),
      ],
      path: "Sources/bus-throughput"
    ),
    // Issue 4: a lean C load driver for the bus (Sources/RawZMQ/busdrive.c), as light as
    // redis-benchmark is for Redis; bus-throughput runs the same functions.
    .executableTarget(name: "bus-drive", dependencies: ["RawZMQ"], path: "Sources/bus-drive"),
    // Issue 4: the least a durable ZeroMQ bus can do (append + fdatasync + ACK + XPUB, one C
    // thread), the floor that `Scripts/floor.sh` measures passerelle-bus against.
    .executableTarget(
      name: "durable-floor", path: "Sources/durable-floor", linkerSettings: [.linkedLibrary("zmq")]),
    // The same configurations under ordo-one/benchmark: `swift package benchmark`.
    .executableTarget(
      name: "ZMQThroughput",
      dependencies: ["ZMQBench", .product(name: "Benchmark", package: "benchmark")],
      path: "Benchmarks/ZMQThroughput",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
  ]
)
