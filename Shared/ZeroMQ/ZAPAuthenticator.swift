/// Answers libzmq's ZAP requests (RFC 27) for a context: CURVE clients get in only when their
/// public key is on the allow-list.
///
/// Bind it before any CURVE server socket of the same context accepts connections, keep
/// ``run()`` going for as long as those sockets live, and ``close()`` it after them. Without a
/// handler bound, libzmq lets every CURVE client in.
public final class ZAPAuthenticator: Sendable {
  /// What the handler decided for one connection attempt.
  public struct Decision: Sendable {
    /// The security mechanism the client used (`CURVE`, `NULL`, `PLAIN`).
    public let mechanism: String
    /// The client's Z85 public key, for CURVE.
    public let clientKey: String?
    /// The peer's address.
    public let address: String
    /// Whether the client was let in.
    public let accepted: Bool
  }

  private let socket: AsyncSocket
  private let allowed: Locked<Set<String>>
  private let onDecision: @Sendable (Decision) -> Void

  /// Binds the context's ZAP endpoint with an allow-list of Z85 client public keys.
  ///
  /// - Parameter onDecision: called for every decision (count refusals in metrics there).
  public init(
    _ context: Context, allowedClientKeys: Set<String>,
    onDecision: @escaping @Sendable (Decision) -> Void = { _ in }
  ) async throws {
    self.allowed = Locked(allowedClientKeys)
    self.onDecision = onDecision
    self.socket = try await AsyncSocket(context, type: .rep) { socket in
      try socket.bind("inproc://zeromq.zap.01")
    }
  }

  /// Adds a client key to the allow-list; new connections with it are accepted from now on.
  public func allow(_ publicKey: String) {
    _ = allowed.withLock { $0.insert(publicKey) }
  }

  /// Removes a client key from the allow-list (established connections stay up).
  public func revoke(_ publicKey: String) {
    _ = allowed.withLock { $0.remove(publicKey) }
  }

  /// Answers requests until the task is cancelled or the context shuts down.
  ///
  /// The ZAP endpoint stays bound after it returns, until ``close()``: handshakes attempted
  /// meanwhile wait for an answer that does not come (fail closed). Unbound, libzmq would let
  /// every CURVE client in, so close it only once the CURVE server sockets are closed.
  public func run() async throws {
    for try await request in socket.messages {
      try await socket.send(answer(request))
    }
  }

  /// Unbinds the ZAP endpoint. Call it after the context's CURVE server sockets are closed.
  public func close() {
    socket.close()
  }

  private func answer(_ request: Message) -> [[UInt8]] {
    guard request.count >= 6, request[0].string == "1.0" else {
      return [
        Array("1.0".utf8), request.count > 1 ? request[1].bytes : [], Array("500".utf8),
        Array("malformed ZAP request".utf8), [], [],
      ]
    }
    let mechanism = request[5].string
    var clientKey: String?
    let accepted: Bool
    switch mechanism {
    case "CURVE":
      if request.count >= 7, let key = try? CurveKeyPair.z85(rawKey: request[6].bytes) {
        clientKey = key
        accepted = allowed.withLock { $0.contains(key) }
      } else {
        accepted = false
      }
    case "NULL":
      // Plain sockets are a deployment choice (loopback only by default), not a client's.
      accepted = true
    default:
      accepted = false
    }
    onDecision(
      Decision(mechanism: mechanism, clientKey: clientKey, address: request[3].string, accepted: accepted))
    return [
      Array("1.0".utf8), request[1].bytes, Array((accepted ? "200" : "400").utf8),
      Array((accepted ? "OK" : "client key not allowed").utf8), Array((clientKey ?? "").utf8), [],
    ]
  }
}
