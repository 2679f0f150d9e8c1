/// The bus's limits (docs/PROTOCOL.md), shared by the broker, which enforces them, and the client
/// library, which checks them before anything reaches the wire.
public enum BusLimits {
  /// The most events one `PUBLISH` may carry.
  public static let maximumEventsPerRequest = 1000
  /// The most events one `FETCH` returns (the bus clamps `max` to it).
  public static let maximumEventsPerFetch = 1000
  /// The largest event (one frame) the ingest socket accepts, in bytes: a peer sending more is
  /// disconnected by libzmq and gets no reply.
  public static let maximumEventBytes = 1 << 20
  /// The largest frame the query socket accepts, in bytes (its requests are small JSON
  /// documents): a peer sending more is disconnected by libzmq and gets no reply.
  public static let maximumQueryBytes = 1 << 16

  /// Why the bus would refuse the encoded event `body` for its size, or `nil` when it fits.
  public static func sizeProblem(ofEvent body: [UInt8]) -> String? {
    body.count > maximumEventBytes ? "\(body.count) bytes; the bus takes at most \(maximumEventBytes)" : nil
  }
}
