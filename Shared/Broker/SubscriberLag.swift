import Metrics
import PasserelleBus
import Synchronization

/// Each reporting subscriber's lag as the gauge `passerelle_bus_subscriber_lag`, kept current as
/// the heads move.
///
/// Lag is a partition's head minus the subscriber's last reported position. It is recomputed at
/// every heartbeat from the positions held here (no query), so a subscriber that stops reporting
/// (stopped, stuck: what an alert is for) shows its lag growing instead of its last value; the
/// positions stored before a restart are loaded at start. A subscriber's name is whatever a client
/// sends, so at most ``maximumSubscribers`` names are exported; `passerelle lag` shows them all.
final class SubscriberLag: Sendable {
  /// How many subscriber names get gauges.
  static let maximumSubscribers = 256

  private struct Tracked {
    var offset: Int64
    let gauge: Gauge
  }

  /// Per subscriber name, per partition.
  private let positions = Mutex<[String: [Int: Tracked]]>([:])

  /// Takes the positions of a `LAG` report (the journal's stored positions).
  func load(_ report: LagReport) {
    for entry in report.entries {
      record(
        subscriber: entry.subscriber, partition: entry.partition, offset: entry.offset, heads: report.heads)
    }
  }

  /// Records a reported position and updates its gauge; ignored past ``maximumSubscribers`` names.
  func record(subscriber: String, partition: Int, offset: Int64, heads: [Int64]) {
    guard heads.indices.contains(partition) else { return }
    let gauge: Gauge? = positions.withLock { positions in
      if positions[subscriber] == nil {
        guard positions.count < Self.maximumSubscribers else { return nil }
        positions[subscriber] = [:]
      }
      let tracked =
        positions[subscriber]?[partition]
        ?? Tracked(
          offset: offset,
          gauge: Gauge(
            label: "passerelle_bus_subscriber_lag",
            dimensions: [("subscriber", subscriber), ("partition", "\(partition)")]))
      positions[subscriber]?[partition] = Tracked(offset: offset, gauge: tracked.gauge)
      return tracked.gauge
    }
    gauge?.record(max(0, heads[partition] - offset))
  }

  /// Sets every gauge from `heads`.
  func publish(heads: [Int64]) {
    let tracked = positions.withLock { positions in positions.values.flatMap { $0.map { ($0.key, $0.value) } }
    }
    for (partition, position) in tracked where heads.indices.contains(partition) {
      position.gauge.record(max(0, heads[partition] - position.offset))
    }
  }
}
