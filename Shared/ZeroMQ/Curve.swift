import CZeroMQ

/// A CURVE key pair in Z85 text (40 characters each), as libzmq and every ZeroMQ binding write it.
///
/// Printed, logged or dumped, it shows its public key only (see ``description``): a service's
/// settings are logged whole (swift-service-lifecycle logs each service), the secret must not be.
public struct CurveKeyPair: Sendable, Hashable, Codable, CustomStringConvertible,
  CustomDebugStringConvertible, CustomReflectable
{
  /// The public key, safe to share and put on allow-lists.
  public let publicKey: String
  /// The secret key; keep it out of logs and repositories.
  public let secretKey: String

  /// Wraps existing Z85 keys, checking their shape and that they belong together.
  public init(publicKey: String, secretKey: String) throws(ZMQError) {
    let derived = try CurveKeyPair.publicKey(forSecretKey: secretKey)
    guard derived == publicKey else {
      throw ZMQError(
        call: "zmq_curve_public", code: EINVAL, detail: "public key does not match the secret key")
    }
    self.publicKey = publicKey
    self.secretKey = secretKey
  }

  private init(validatedPublicKey: String, secretKey: String) {
    self.publicKey = validatedPublicKey
    self.secretKey = secretKey
  }

  /// The public key and a redacted secret key.
  public var description: String { "CurveKeyPair(publicKey: \(publicKey), secretKey: <redacted>)" }

  /// The same as ``description``: the secret key stays out of `debugPrint` too.
  public var debugDescription: String { description }

  /// What `dump` and `Mirror` see: the public key only.
  public var customMirror: Mirror {
    Mirror(self, children: ["publicKey": publicKey, "secretKey": "<redacted>"])
  }

  /// Generates a fresh key pair with libzmq's `zmq_curve_keypair`.
  public static func generate() throws(ZMQError) -> CurveKeyPair {
    var publicKey = [CChar](repeating: 0, count: 41)
    var secretKey = [CChar](repeating: 0, count: 41)
    try check(zmq_curve_keypair(&publicKey, &secretKey), "zmq_curve_keypair")
    return CurveKeyPair(
      validatedPublicKey: String(zeroTerminated: publicKey), secretKey: String(zeroTerminated: secretKey))
  }

  /// Derives the Z85 public key belonging to a Z85 secret key (`zmq_curve_public`).
  public static func publicKey(forSecretKey secretKey: String) throws(ZMQError) -> String {
    guard secretKey.utf8.count == 40 else {
      throw ZMQError(
        call: "zmq_curve_public", code: EINVAL,
        detail: "a Z85 key has 40 characters, got \(secretKey.utf8.count)")
    }
    var publicKey = [CChar](repeating: 0, count: 41)
    try check(zmq_curve_public(&publicKey, secretKey), "zmq_curve_public", "secret key is not valid Z85")
    return String(zeroTerminated: publicKey)
  }

  /// Decodes a 40-character Z85 key into its 32 raw bytes.
  public static func rawKey(z85: String) throws(ZMQError) -> [UInt8] {
    guard z85.utf8.count == 40 else {
      throw ZMQError(
        call: "zmq_z85_decode", code: EINVAL, detail: "a Z85 key has 40 characters, got \(z85.utf8.count)")
    }
    var raw = [UInt8](repeating: 0, count: 32)
    guard zmq_z85_decode(&raw, z85) != nil else {
      throw ZMQError(call: "zmq_z85_decode", code: EINVAL, detail: "not Z85 text")
    }
    return raw
  }

  /// Encodes 32 raw key bytes as Z85 text.
  public static func z85(rawKey: [UInt8]) throws(ZMQError) -> String {
    guard rawKey.count == 32 else {
      throw ZMQError(
        call: "zmq_z85_encode", code: EINVAL, detail: "a CURVE key has 32 bytes, got \(rawKey.count)")
    }
    var text = [CChar](repeating: 0, count: 41)
    guard zmq_z85_encode(&text, rawKey, 32) != nil else { throw ZMQError.last("zmq_z85_encode") }
    return String(zeroTerminated: text)
  }
}

extension String {
  /// Decodes a NUL-terminated C character buffer as UTF-8.
  init(zeroTerminated buffer: [CChar]) {
    self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
