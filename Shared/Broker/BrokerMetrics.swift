import Metrics

/// The bus's metrics, through the swift-metrics API (Prometheus at bootstrap).
struct BrokerMetrics: Sendable {
  let stored = Counter(label: "passerelle_bus_events_stored_total")
  let duplicates = Counter(label: "passerelle_bus_events_duplicate_total")
  let fannedOut = Counter(label: "passerelle_bus_events_fanned_out_total")
  let replayed = Counter(label: "passerelle_bus_events_replayed_total")
  let commitSeconds = Timer(label: "passerelle_bus_commit_duration_seconds", preferredDisplayUnit: .seconds)
  let batchSize = Recorder(label: "passerelle_bus_commit_batch_events")
  let journalEvents = Gauge(label: "passerelle_bus_journal_events")
  let journalBytes = Gauge(label: "passerelle_bus_journal_bytes")
  let pruned = Counter(label: "passerelle_bus_events_pruned_total")
  let retentionFailures = Counter(label: "passerelle_bus_retention_failures_total")
  /// Each reporting subscriber's lag per partition.
  let subscriberLag = SubscriberLag()

  /// Counts an event refused at ingest, by the envelope field at fault: an attribute's name, `$`
  /// for the document, or `extension` for any extension (its name is the publisher's, and a label
  /// per name would let one publisher grow the metrics without bound).
  func rejected(field: String) {
    let label = Self.attributes.contains(field) ? field : "extension"
    Counter(label: "passerelle_bus_events_rejected_total", dimensions: [("field", label)]).increment()
  }

  /// The fields a rejection may name besides extensions.
  private static let attributes: Set<String> = [
    "$", "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data",
    "data_base64", "partitionkey", "sequence", "traceparent",
  ]

  /// Counts a request refused on a ROUTER socket, by the field at fault: one of the protocol's
  /// own, else the part of its path the protocol names (`body.prefixes.Index 3` counts as
  /// `body.prefixes`, a key the client made up as `body`), so that no client can grow the metrics
  /// without bound.
  func badRequest(socket: String, field: String) {
    var label = field
    while !Self.requestFields.contains(label), let dot = label.lastIndex(of: ".") {
      label = String(label[..<dot])
    }
    if !Self.requestFields.contains(label) { label = "other" }
    Counter(label: "passerelle_bus_bad_requests_total", dimensions: [("socket", socket), ("field", label)])
      .increment()
  }

  /// The fields a refused request may be counted under (docs/PROTOCOL.md, "Errors").
  private static let requestFields: Set<String> = [
    "command", "events", "body", "body.partition", "body.from", "body.max", "body.prefixes", "body.offset",
    "body.subscriber", "journal",
  ]

  /// Counts a CURVE client the allow-list refused.
  func refusedClient() {
    Counter(label: "passerelle_bus_curve_refused_total").increment()
  }

}
