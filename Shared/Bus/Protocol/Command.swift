/// The first frame of every request and reply on the bus's ROUTER sockets (ASCII).
///
/// A request is `[command, request-id, body…]`; its reply echoes the request id in frame 1.
public enum Command: String, Sendable, CaseIterable {
  /// Ingest: store events; body frames are CloudEvents in structured JSON, one per frame.
  case publish = "PUBLISH"
  /// Ingest reply: one ``PublishOutcome`` JSON frame per published event, in order.
  case ack = "ACK"
  /// Query: describe the journal (``JournalInfo``).
  case info = "INFO"
  /// Query: read one partition from an offset (body: ``FetchRequest``).
  case fetch = "FETCH"
  /// Query reply: a ``FetchHeader`` frame, then one event JSON frame per returned offset.
  case events = "EVENTS"
  /// Query: a subscriber reports the last offset it applied (body: ``PositionReport``).
  case position = "POSITION"
  /// Query: every reporting subscriber's distance behind the journal (reply body: ``LagReport``).
  case lag = "LAG"
  /// Reply: the request was done and has nothing to return.
  case ok = "OK"
  /// Reply: the request was refused (body: ``ProtocolError``).
  case error = "ERROR"
}
