import Foundation
import PasserelleTestKit
import Testing
import ZeroMQ

/// Our layer against pyzmq (a different libzmq build and binding) over ipc and tcp, plain and CURVE.
@Suite struct PythonInteropTests {
  static let script = TestPaths.file("Tests/Interop/zmq_peer.py").path
  static let payload: [[UInt8]] = [Array("hello".utf8), Array(0...255), [], Array("café".utf8)]

  static func endpoint(_ transport: String) throws -> String {
    transport == "ipc" ? try TestPaths.ipcEndpoint("python") : "tcp://127.0.0.1:*"
  }

  /// Runs the Python peer as a client against our ROUTER echo and returns what it printed.
  static func runPythonClient(_ arguments: [String]) async throws -> String {
    let peer = try TestProcess(TestPaths.python, [script, "client"] + arguments)
    let status = await peer.waitForExit(timeout: .seconds(30))
    #expect(status == 0, "python peer failed: \(peer.outputText)")
    return peer.outputText
  }

  /// Echoes every message our ROUTER receives until the task is cancelled.
  static func echo(_ router: AsyncSocket) async throws {
    for try await message in router.messages { try await router.send(message.frames.map(\.bytes)) }
  }

  @Test(arguments: ["ipc", "tcp"])
  func pythonClientTalksToOurRouter(transport: String) async throws {
    let context = try Context()
    let router = try await AsyncSocket(context, type: .router)
    let endpoint = try await router.bind(Self.endpoint(transport))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await Self.echo(router) }
      let output = try await Self.runPythonClient([endpoint])
      #expect(output.contains("echoed"), "\(output)")
      group.cancelAll()
    }
  }

  @Test(arguments: ["ipc", "tcp"])
  func ourDealerTalksToPythonRouter(transport: String) async throws {
    let endpoint = try Self.endpoint(transport).replacingOccurrences(of: "*", with: "0")
    let peer = try TestProcess(TestPaths.python, [Self.script, "server", endpoint])
    defer { peer.stop() }
    let line = await peer.waitForLine(startingWith: "listening ", timeout: .seconds(20))
    let bound = try #require(line?.split(separator: " ").last.map(String.init), "\(peer.outputText)")
    let context = try Context()
    let dealer = try await AsyncSocket(context, type: .dealer)
    try await dealer.connect(bound)
    try await dealer.send(Self.payload)
    let reply = try await withDeadline(.seconds(10), "python echo") { try await dealer.receive() }
    #expect(reply.frames.map(\.bytes) == Self.payload)
    try await dealer.send([Array("stop".utf8)])
    #expect(await peer.waitForExit(timeout: .seconds(10)) == 0)
  }

  @Test(arguments: ["ipc", "tcp"])
  func curveAllowListAppliesToPythonClients(transport: String) async throws {
    let context = try Context()
    let server = try CurveKeyPair.generate()
    let known = try CurveKeyPair.generate()
    let stranger = try CurveKeyPair.generate()
    let zap = try await ZAPAuthenticator(context, allowedClientKeys: [known.publicKey])
    let router = try await AsyncSocket(context, type: .router) {
      try $0.set(.curveServer(secretKey: server.secretKey))
    }
    let endpoint = try await router.bind(Self.endpoint(transport))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await zap.run() }
      group.addTask { try await Self.echo(router) }
      let allowed = try await Self.runPythonClient([
        endpoint, "--server-key=\(server.publicKey)", "--public-key=\(known.publicKey)",
        "--secret-key=\(known.secretKey)",
      ])
      #expect(allowed.contains("echoed"), "\(allowed)")
      let refused = try await Self.runPythonClient([
        endpoint, "--server-key=\(server.publicKey)", "--public-key=\(stranger.publicKey)",
        "--secret-key=\(stranger.secretKey)", "--timeout-ms=1500",
      ])
      #expect(refused.contains("no-reply"), "\(refused)")
      group.cancelAll()
    }
  }

  @Test func ourCurveClientTalksToPythonCurveServer() async throws {
    let server = try CurveKeyPair.generate()
    let client = try CurveKeyPair.generate()
    let peer = try TestProcess(
      TestPaths.python,
      [
        Self.script, "server", "tcp://127.0.0.1:0", "--secret-key=\(server.secretKey)",
        "--allow=\(client.publicKey)",
      ])
    defer { peer.stop() }
    let line = await peer.waitForLine(startingWith: "listening ", timeout: .seconds(20))
    let bound = try #require(line?.split(separator: " ").last.map(String.init), "\(peer.outputText)")
    let context = try Context()
    let dealer = try await AsyncSocket(context, type: .dealer) {
      try $0.set(.curveClient(serverKey: server.publicKey, keyPair: client))
      try $0.connect(bound)
    }
    try await dealer.send(Self.payload)
    let reply = try await withDeadline(.seconds(10), "python curve echo: \(peer.outputText)") {
      try await dealer.receive()
    }
    #expect(reply.frames.map(\.bytes) == Self.payload)
    try await dealer.send([Array("stop".utf8)])
    #expect(await peer.waitForExit(timeout: .seconds(10)) == 0)
  }
}
