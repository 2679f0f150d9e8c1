import Benchmark
import ZMQBench

// The zmq-throughput configurations under ordo-one/benchmark. Each iteration is one whole
// transfer (fresh context and sockets, slow-joiner handshake, `count` messages); the custom
// metric `msgs/s` is measured from the first send to the last receive, as in zmq-throughput.
// Run with `swift package benchmark` from Benchmarks/ (see README.md); the Swift/raw ratios
// are printed by `zmq-throughput`, which interleaves the configurations.

let messagesPerSecondMetric = BenchmarkMetric.custom("msgs/s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [messagesPerSecondMetric, .wallClock],
    warmupIterations: 1,
    maxDuration: .seconds(15),
    maxIterations: 5
  )
  let counts = [100: 1_000_000, 1024: 300_000]
  for size in [100, 1024] {
    for transport in Transport.allCases {
      for implementation in Implementation.allCases {
        // AsyncSocket is ~20x slower: a twentieth of the messages keeps its runs near a second.
        let count = implementation == .async ? counts[size]! / 20 : counts[size]!
        let configuration = Configuration(
          implementation: implementation, transport: transport, size: size, count: count)
        Benchmark("PUB/SUB \(transport) \(size) B \(implementation)") { benchmark in
          let rate = try await messagesPerSecond(configuration)
          benchmark.measurement(messagesPerSecondMetric, Int(rate))
        }
      }
    }
  }
}
