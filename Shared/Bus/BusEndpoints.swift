import PasserelleRuntime
import ZeroMQ

/// Where the bus's three sockets are (docs/PROTOCOL.md).
public struct BusEndpoints: Sendable, Hashable {
  /// ROUTER for `PUBLISH` (clients use DEALER).
  public var ingest: String
  /// XPUB for the live stream (clients use SUB).
  public var live: String
  /// ROUTER for `INFO`, `FETCH`, `POSITION`, `LAG` (clients use DEALER).
  public var query: String

  /// Creates endpoints.
  public init(ingest: String, live: String, query: String) {
    self.ingest = ingest
    self.live = live
    self.query = query
  }

  /// The defaults: loopback TCP ports 7401, 7402 and 7403.
  public static let loopback = BusEndpoints(
    ingest: "tcp://127.0.0.1:7401", live: "tcp://127.0.0.1:7402", query: "tcp://127.0.0.1:7403")

  /// Three `ipc://` endpoints in `directory`.
  public static func ipc(directory: String) -> BusEndpoints {
    BusEndpoints(
      ingest: "ipc://\(directory)/ingest.sock", live: "ipc://\(directory)/live.sock",
      query: "ipc://\(directory)/query.sock")
  }

  /// All three endpoints.
  public var all: [String] { [ingest, live, query] }

  /// The first endpoint with a ``problem(with:)``, as the error naming its setting; `names` are
  /// the ingest, live and query settings' names (variables, or flags where flags gave them).
  public func configurationError(names: [String]) -> ConfigurationError? {
    for (endpoint, name) in zip(all, names) {
      if let problem = Self.problem(with: endpoint) {
        return ConfigurationError(variable: name, value: endpoint, reason: problem)
      }
    }
    return nil
  }

  /// What is wrong with `endpoint` as the bus binds it, or `nil` when it is a well-formed
  /// `tcp://host:port` (port a number or `*`), `ipc://path` or `inproc://name`.
  public static func problem(with endpoint: String) -> String? {
    if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") {
      return endpoint.hasSuffix("//") ? "missing the path after ipc:// or inproc://" : nil
    }
    guard endpoint.hasPrefix("tcp://") else { return "not a tcp://, ipc:// or inproc:// endpoint" }
    let address = endpoint.dropFirst(6)
    guard let colon = address.lastIndex(of: ":"), colon != address.startIndex else {
      return "missing host or port (tcp://host:port)"
    }
    let port = address[address.index(after: colon)...]
    guard port == "*" || UInt16(port).map({ $0 > 0 }) == true else {
      return "port \"\(port)\" is not 1-65535 or *"
    }
    return nil
  }

  /// True when an endpoint can only be reached from this machine (loopback TCP, ipc, inproc).
  public static func isLocal(_ endpoint: String) -> Bool {
    if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
    guard endpoint.hasPrefix("tcp://") else { return false }
    let address = endpoint.dropFirst(6)
    guard let colon = address.lastIndex(of: ":") else { return false }
    let host = address[..<colon]
    if host == "localhost" || host == "[::1]" { return true }
    let octets = host.split(separator: ".", omittingEmptySubsequences: false)
    return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
  }
}

/// CURVE settings of the bus server: its key pair and the client keys it lets in.
public struct BusServerSecurity: Sendable, Hashable {
  /// The server's key pair; clients need its public key.
  public let keyPair: CurveKeyPair
  /// Z85 public keys of the services allowed to connect.
  public let allowedClientKeys: Set<String>

  /// Creates server security settings.
  public init(keyPair: CurveKeyPair, allowedClientKeys: Set<String>) {
    self.keyPair = keyPair
    self.allowedClientKeys = allowedClientKeys
  }
}

/// CURVE settings of a bus client: the server's public key and the client's own key pair.
public struct BusClientSecurity: Sendable, Hashable {
  /// The bus's Z85 public key.
  public let serverPublicKey: String
  /// This client's key pair; its public key must be on the bus's allow-list.
  public let keyPair: CurveKeyPair

  /// Creates client security settings.
  public init(serverPublicKey: String, keyPair: CurveKeyPair) {
    self.serverPublicKey = serverPublicKey
    self.keyPair = keyPair
  }
}
