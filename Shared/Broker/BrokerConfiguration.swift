import PasserelleBus

/// Everything a ``Broker`` needs to run.
public struct BrokerConfiguration: Sendable {
  /// Where to bind.
  public var endpoints: BusEndpoints
  /// Number of partitions (fixed when the journal is created).
  public var partitions: Int
  /// Delete events older than this; `nil` keeps them by age forever.
  public var retentionAge: Duration?
  /// Delete the oldest events while the journal holds more bytes than this; `nil`: no limit.
  public var retentionBytes: Int64?
  /// How often retention runs and journal size is measured.
  public var retentionInterval: Duration
  /// How often each partition's head is announced on the live stream.
  public var headInterval: Duration
  /// Most events committed in one transaction (group commit).
  public var maxBatch: Int
  /// Messages queued per live subscriber before libzmq drops for that subscriber (it repairs by replay).
  public var liveHighWaterMark: Int32
  /// CURVE on every socket, or `nil` for plain sockets.
  public var security: BusServerSecurity?

  /// Creates a configuration with production defaults for everything but the endpoints.
  public init(
    endpoints: BusEndpoints = .loopback, partitions: Int = 16,
    retentionAge: Duration? = .seconds(7 * 24 * 3600),
    retentionBytes: Int64? = nil, retentionInterval: Duration = .seconds(60),
    headInterval: Duration = .milliseconds(500),
    maxBatch: Int = 5000, liveHighWaterMark: Int32 = 100_000, security: BusServerSecurity? = nil
  ) {
    self.endpoints = endpoints
    self.partitions = partitions
    self.retentionAge = retentionAge
    self.retentionBytes = retentionBytes
    self.retentionInterval = retentionInterval
    self.headInterval = headInterval
    self.maxBatch = maxBatch
    self.liveHighWaterMark = liveHighWaterMark
    self.security = security
  }
}
