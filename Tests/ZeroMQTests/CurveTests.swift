import Foundation
import PasserelleTestKit
import Testing
import ZeroMQ

/// CURVE keys and the ZAP allow-list between Swift peers.
@Suite struct CurveTests {
  @Test func keyPairsRoundTripThroughZ85() throws {
    let pair = try CurveKeyPair.generate()
    #expect(pair.publicKey.utf8.count == 40)
    #expect(try CurveKeyPair.publicKey(forSecretKey: pair.secretKey) == pair.publicKey)
    let raw = try CurveKeyPair.rawKey(z85: pair.publicKey)
    #expect(raw.count == 32)
    #expect(try CurveKeyPair.z85(rawKey: raw) == pair.publicKey)
    #expect(try CurveKeyPair(publicKey: pair.publicKey, secretKey: pair.secretKey) == pair)
    let other = try CurveKeyPair.generate()
    #expect(throws: ZMQError.self) { try CurveKeyPair(publicKey: other.publicKey, secretKey: pair.secretKey) }
    #expect(throws: ZMQError.self) { try CurveKeyPair.rawKey(z85: "short") }
  }

  /// Settings holding a key pair are logged whole (swift-service-lifecycle logs each service):
  /// however a key pair is printed, its secret key is not.
  @Test func aKeyPairNeverPrintsItsSecretKey() throws {
    struct Settings { let name: String; let keys: CurveKeyPair }
    let pair = try CurveKeyPair.generate()
    let settings = Settings(name: "bus", keys: pair)
    var dumped = ""
    dump(settings, to: &dumped)
    for text in [
      String(describing: pair), String(reflecting: pair), String(describing: settings),
      String(reflecting: settings), "\(settings)", dumped,
    ] {
      #expect(text.contains(pair.publicKey) && !text.contains(pair.secretKey), "\(text)")
    }
  }

  /// A handler that has stopped answering still holds the ZAP endpoint until closed, so a client
  /// that connects meanwhile is not let in (libzmq lets everyone in when no handler is bound).
  @Test func aStoppedHandlerFailsClosed() async throws {
    let context = try Context()
    let server = try CurveKeyPair.generate()
    let stranger = try CurveKeyPair.generate()
    let zap = try await ZAPAuthenticator(context, allowedClientKeys: [])
    let answering = Task { try await zap.run() }
    answering.cancel()
    _ = await answering.result
    defer { zap.close() }
    let router = try await AsyncSocket(context, type: .router) {
      try $0.set(.curveServer(secretKey: server.secretKey))
    }
    let endpoint = try await router.bind("tcp://127.0.0.1:*")
    defer { router.close() }
    let intruder = try await AsyncSocket(context, type: .dealer) {
      try $0.set(.curveClient(serverKey: server.publicKey, keyPair: stranger))
      try $0.connect(endpoint)
    }
    defer { intruder.close() }
    _ = try await intruder.send([Array("hello".utf8)], deadline: .now + .seconds(1))
    #expect(try await router.receive(timeout: .seconds(1)) == nil, "a client got in without a handler")
  }

  @Test func allowListAdmitsKnownClientsOnly() async throws {
    let context = try Context()
    let server = try CurveKeyPair.generate()
    let known = try CurveKeyPair.generate()
    let stranger = try CurveKeyPair.generate()
    let decisions = DecisionLog()
    let zap = try await ZAPAuthenticator(context, allowedClientKeys: [known.publicKey]) {
      decisions.append($0)
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await zap.run() }
      let router = try await AsyncSocket(context, type: .router) {
        try $0.set(.curveServer(secretKey: server.secretKey))
      }
      let endpoint = try await router.bind("tcp://127.0.0.1:*")

      let friend = try await AsyncSocket(context, type: .dealer) {
        try $0.set(.curveClient(serverKey: server.publicKey, keyPair: known))
        try $0.connect(endpoint)
      }
      let intruder = try await AsyncSocket(context, type: .dealer) {
        try $0.set(.curveClient(serverKey: server.publicKey, keyPair: stranger))
        try $0.connect(endpoint)
      }
      try await intruder.send([Array("let me in".utf8)])
      try await friend.send([Array("hello".utf8)])
      let request = try await withDeadline(.seconds(5), "allowed request") { try await router.receive() }
      #expect(request[1].string == "hello")
      // The intruder's message never arrives.
      let leaked = try? await withDeadline(.milliseconds(500), "intruder") { try await router.receive() }
      #expect(leaked == nil)
      #expect(decisions.snapshot.contains { $0.clientKey == stranger.publicKey && !$0.accepted })
      #expect(decisions.snapshot.contains { $0.clientKey == known.publicKey && $0.accepted })
      group.cancelAll()
    }
  }
}

/// Collects ZAP decisions from the handler's thread.
final class DecisionLog: @unchecked Sendable {  // `decisions` is only touched under `lock`
  private let lock = NSLock()
  private var decisions: [ZAPAuthenticator.Decision] = []
  func append(_ decision: ZAPAuthenticator.Decision) { lock.withLock { decisions.append(decision) } }
  var snapshot: [ZAPAuthenticator.Decision] { lock.withLock { decisions } }
}
