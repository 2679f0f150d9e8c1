import CZeroMQ

/// A socket option Passerelle sets, with its typed value.
public enum SocketOption: Sendable {
  /// Messages queued per peer for sending before the socket blocks or drops (`ZMQ_SNDHWM`).
  case sendHighWaterMark(Int32)
  /// Messages queued per peer for receiving (`ZMQ_RCVHWM`).
  case receiveHighWaterMark(Int32)
  /// How long unsent messages survive `close` (`ZMQ_LINGER`); 0 drops them at once.
  case linger(milliseconds: Int32)
  /// XPUB blocks (`EAGAIN`) instead of dropping when a subscriber's queue is full.
  case xpubNoDrop(Bool)
  /// XPUB passes every subscription message up, not only new topics.
  case xpubVerbose(Bool)
  /// The identity a DEALER or REQ presents to a ROUTER (`ZMQ_ROUTING_ID`).
  case routingId([UInt8])
  /// Queue only to completed connections (`ZMQ_IMMEDIATE`).
  case immediate(Bool)
  /// ROUTER fails with `EHOSTUNREACH` instead of dropping a message to an unknown peer.
  case routerMandatory(Bool)
  /// ZMTP heartbeats: ping every `interval`, drop the peer after `timeout`, ask it for `ttl` (ms).
  case heartbeat(interval: Int32, timeout: Int32, ttl: Int32)
  /// TCP keepalive on (`ZMQ_TCP_KEEPALIVE`): after `idle` seconds without receiving anything the
  /// kernel probes the peer every `interval` seconds and drops the connection after `count`
  /// unanswered probes, so a silently dead peer is noticed and libzmq reconnects.
  case tcpKeepalive(idle: Int32, interval: Int32, count: Int32)
  /// First reconnect delay and its exponential-backoff cap, in milliseconds.
  case reconnect(interval: Int32, maximum: Int32)
  /// Blocking receive timeout in milliseconds (-1 forever).
  case receiveTimeout(Int32)
  /// Blocking send timeout in milliseconds (-1 forever).
  case sendTimeout(Int32)
  /// SUB: receive messages whose first frame starts with `prefix` (empty: everything).
  case subscribe([UInt8])
  /// SUB: undo a ``subscribe(_:)``.
  case unsubscribe([UInt8])
  /// Act as CURVE server with this secret key; clients are checked by the ZAP handler.
  case curveServer(secretKey: String)
  /// Act as CURVE client of the server with public key `serverKey`.
  case curveClient(serverKey: String, keyPair: CurveKeyPair)
  /// The ZAP domain reported to the authentication handler.
  case zapDomain(String)
  /// Largest message part accepted from a peer, in bytes; a larger one disconnects the peer (-1: no limit).
  case maximumMessageSize(Int64)

  enum Value {
    case int(Int32)
    case int64(Int64)
    case bytes([UInt8])
  }

  /// The libzmq option name for error messages.
  var label: String {
    switch self {
    case .sendHighWaterMark: "ZMQ_SNDHWM"
    case .receiveHighWaterMark: "ZMQ_RCVHWM"
    case .linger: "ZMQ_LINGER"
    case .xpubNoDrop: "ZMQ_XPUB_NODROP"
    case .xpubVerbose: "ZMQ_XPUB_VERBOSE"
    case .routingId: "ZMQ_ROUTING_ID"
    case .immediate: "ZMQ_IMMEDIATE"
    case .routerMandatory: "ZMQ_ROUTER_MANDATORY"
    case .heartbeat: "ZMQ_HEARTBEAT_IVL/TIMEOUT/TTL"
    case .tcpKeepalive: "ZMQ_TCP_KEEPALIVE/IDLE/INTVL/CNT"
    case .reconnect: "ZMQ_RECONNECT_IVL/IVL_MAX"
    case .receiveTimeout: "ZMQ_RCVTIMEO"
    case .sendTimeout: "ZMQ_SNDTIMEO"
    case .subscribe: "ZMQ_SUBSCRIBE"
    case .unsubscribe: "ZMQ_UNSUBSCRIBE"
    case .curveServer: "ZMQ_CURVE_SERVER/SECRETKEY"
    case .curveClient: "ZMQ_CURVE_SERVERKEY/PUBLICKEY/SECRETKEY"
    case .zapDomain: "ZMQ_ZAP_DOMAIN"
    case .maximumMessageSize: "ZMQ_MAXMSGSIZE"
    }
  }

  /// The libzmq (name, value) pairs this option sets, in order.
  var settings: [(Int32, Value)] {
    switch self {
    case .sendHighWaterMark(let n): [(ZMQ_SNDHWM, .int(n))]
    case .receiveHighWaterMark(let n): [(ZMQ_RCVHWM, .int(n))]
    case .linger(let ms): [(ZMQ_LINGER, .int(ms))]
    case .xpubNoDrop(let on): [(ZMQ_XPUB_NODROP, .int(on ? 1 : 0))]
    case .xpubVerbose(let on): [(ZMQ_XPUB_VERBOSE, .int(on ? 1 : 0))]
    case .routingId(let id): [(ZMQ_ROUTING_ID, .bytes(id))]
    case .immediate(let on): [(ZMQ_IMMEDIATE, .int(on ? 1 : 0))]
    case .routerMandatory(let on): [(ZMQ_ROUTER_MANDATORY, .int(on ? 1 : 0))]
    case .heartbeat(let interval, let timeout, let ttl):
      [
        (ZMQ_HEARTBEAT_IVL, .int(interval)), (ZMQ_HEARTBEAT_TIMEOUT, .int(timeout)),
        (ZMQ_HEARTBEAT_TTL, .int(ttl)),
      ]
    case .tcpKeepalive(let idle, let interval, let count):
      [
        (ZMQ_TCP_KEEPALIVE, .int(1)), (ZMQ_TCP_KEEPALIVE_IDLE, .int(idle)),
        (ZMQ_TCP_KEEPALIVE_INTVL, .int(interval)), (ZMQ_TCP_KEEPALIVE_CNT, .int(count)),
      ]
    case .reconnect(let interval, let maximum):
      [(ZMQ_RECONNECT_IVL, .int(interval)), (ZMQ_RECONNECT_IVL_MAX, .int(maximum))]
    case .receiveTimeout(let ms): [(ZMQ_RCVTIMEO, .int(ms))]
    case .sendTimeout(let ms): [(ZMQ_SNDTIMEO, .int(ms))]
    case .subscribe(let prefix): [(ZMQ_SUBSCRIBE, .bytes(prefix))]
    case .unsubscribe(let prefix): [(ZMQ_UNSUBSCRIBE, .bytes(prefix))]
    case .curveServer(let secretKey):
      [(ZMQ_CURVE_SERVER, .int(1)), (ZMQ_CURVE_SECRETKEY, .bytes(Array(secretKey.utf8)))]
    case .curveClient(let serverKey, let keyPair):
      [
        (ZMQ_CURVE_SERVERKEY, .bytes(Array(serverKey.utf8))),
        (ZMQ_CURVE_PUBLICKEY, .bytes(Array(keyPair.publicKey.utf8))),
        (ZMQ_CURVE_SECRETKEY, .bytes(Array(keyPair.secretKey.utf8))),
      ]
    case .zapDomain(let domain): [(ZMQ_ZAP_DOMAIN, .bytes(Array(domain.utf8)))]
    case .maximumMessageSize(let bytes): [(ZMQ_MAXMSGSIZE, .int64(bytes))]
    }
  }
}
