import Foundation
import PasserelleBus
import RawZMQ
import ZeroMQ

// MARK: - The bus's live fan-out path alone

/// The live path's share of the ingest loop's work without the journal: one `AsyncSocket` XPUB (as `Broker` opens it,
/// but with `sendHighWaterMark(0)` instead of the bus's `liveHighWaterMark`, 100,000 by default, so that nothing is
/// dropped and every subscriber's count can be checked, as in the raw baseline), bound to `endpoint`; the receiving
/// side is raw_fanout.c's C SUB threads (`raw_fanout_subscribers_start`), the very code of the raw libzmq
/// measurement. After the slow-joiner handshake (one-byte probes until every SUB has one), `count` messages built
/// as the ingest loop builds them — [`topicPrefixes[partition] + type`, `EventPosition.wire`, body] over
/// `partitions` partitions with consecutive offsets per partition, `size`-byte bodies — are handed over with
/// `enqueue(batch:)` in batches of `batch` (one commit's live messages at a time), then `flush()`.
///
/// Returns messages per second per subscriber: `count` / (before the first batch is built → last receive at the
/// slowest subscriber), and, for reading it, how fast libzmq took them: `count` / (same start → `flush()` returned).
/// Every subscriber must count exactly `count` messages; every wait is bounded.
func liveFanOutThroughput(
  endpoint: String, subscribers: Int, count: Int, batch: Int = 1_000, size: Int = 500, partitions: Int = 16
) async throws -> (perSubscriber: Double, handedOver: Double) {
  let context = try Context()
  let live = try await AsyncSocket(context, type: .xpub) { socket in
    try socket.set(.sendHighWaterMark(0))  // the bus: configuration.liveHighWaterMark
  }
  defer { live.close() }
  let bound = try await live.bind(endpoint)

  var error = [CChar](repeating: 0, count: 256)
  guard
    let started = raw_fanout_subscribers_start(
      bound, size, count, Int32(subscribers), nil, &error, error.count)
  else { throw BenchmarkFailure("live path: " + cString(error)) }
  var receiving: OpaquePointer? = started
  defer { if let receiving { raw_fanout_subscribers_cancel(receiving) } }

  // Slow joiner: one-byte probes (single frames, which the subscribers skip) until every SUB has received one.
  let handshakeDeadline = nowNanos() + 5_000_000_000
  while raw_fanout_subscribers_joined(started) < subscribers {
    guard nowNanos() < handshakeDeadline else {
      throw BenchmarkFailure("live path: subscription never took on \(bound)")
    }
    try live.enqueue(batch: [[[0]]])
    try await Task.sleep(nanoseconds: 1_000_000)
  }

  // What the broker has at hand in `answer`: the topic prefixes, the event type, the stored bodies (one batch's
  // worth of distinct arrays, reused: `answer` only references bodies, it never copies them).
  let topicPrefixes = (0..<partitions).map { Array(Topic.prefix(partition: $0).utf8) }
  let type = "bench.event.v1"
  let bodies = (0..<batch).map { index -> [UInt8] in
    var body = [UInt8](repeating: UInt8(ascii: "x"), count: size)
    withUnsafeBytes(of: index) { body.replaceSubrange(0..<$0.count, with: $0) }
    return body
  }
  // A flush that never returns (socket thread gone) closes the socket, which fails the flush.
  let watchdog = Task {
    try await Task.sleep(nanoseconds: 60_000_000_000)
    live.close()
  }
  defer { watchdog.cancel() }

  let start = nowNanos()
  var index = 0
  while index < count {
    let end = min(index + batch, count)
    var fanOut: [[[UInt8]]] = []
    fanOut.reserveCapacity(end - index)
    for i in index..<end {
      let partition = i % partitions
      var topic = topicPrefixes[partition]
      topic.append(contentsOf: type.utf8)
      let position = EventPosition(partition: partition, offset: Int64(i / partitions + 1))
      fanOut.append([topic, position.wire, bodies[i % bodies.count]])
    }
    try live.enqueue(batch: fanOut)
    index = end
  }
  do {
    try await live.flush()
  } catch {
    throw BenchmarkFailure("live path: flush failed (\(error)); not done within 60 s?")
  }
  let flushed = nowNanos()
  receiving = nil
  let last = raw_fanout_subscribers_wait(started, &error, error.count)
  guard last > 0 else { throw BenchmarkFailure("live path: " + cString(error)) }
  return (Double(count) / (Double(last - start) * 1e-9), Double(count) / (Double(flushed - start) * 1e-9))
}
