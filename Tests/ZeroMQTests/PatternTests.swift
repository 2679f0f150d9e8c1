import Foundation
import PasserelleTestKit
import Synchronization
import Testing
import ZeroMQ

/// Round trips for every pattern Passerelle uses, over inproc, ipc and tcp.
@Suite struct PatternTests {
  static let transports = ["inproc", "ipc", "tcp"]

  /// A fresh endpoint to bind for `transport`.
  static func endpoint(_ transport: String) throws -> String {
    switch transport {
    case "inproc": "inproc://pattern-\(UUID().uuidString)"
    case "ipc": try TestPaths.ipcEndpoint("pattern")
    default: "tcp://127.0.0.1:*"
    }
  }

  @Test(arguments: transports)
  func pubSubDeliversOnlySubscribedTopics(transport: String) async throws {
    let context = try Context()
    let publisher = try await AsyncSocket(context, type: .pub)
    let endpoint = try await publisher.bind(Self.endpoint(transport))
    let subscriber = try await AsyncSocket(context, type: .sub) { socket in
      try socket.set(.subscribe(Array("pos.".utf8)))
      try socket.connect(endpoint)
    }
    // Slow joiner: publish a warm-up until the subscription has reached the publisher.
    let joined = try await withDeadline(.seconds(5), "subscription") {
      while true {
        try await publisher.send([Array("pos.warmup".utf8), []])
        if let message = try await subscriber.receive(timeout: .milliseconds(50)) {
          return message[0].string
        }
      }
    }
    #expect(joined == "pos.warmup")
    for index in 0..<100 {
      try await publisher.send([Array("web.viewed".utf8), Array("\(index)".utf8)])
      try await publisher.send([Array("pos.receipt".utf8), Array("\(index)".utf8)])
    }
    var received: [String] = []
    while received.count < 100 {
      let message = try await withDeadline(.seconds(5), "message") { try await subscriber.receive() }
      if message[0].string == "pos.warmup" { continue }
      #expect(message[0].string == "pos.receipt")
      received.append(message[1].string)
    }
    #expect(received == (0..<100).map(String.init))
  }

  @Test(arguments: transports)
  func xpubSeesSubscriptionsAndXsubReceives(transport: String) async throws {
    let context = try Context()
    let xpub = try await AsyncSocket(context, type: .xpub) { try $0.set(.xpubNoDrop(true)) }
    let endpoint = try await xpub.bind(Self.endpoint(transport))
    let xsub = try await AsyncSocket(context, type: .xsub) { socket in try socket.connect(endpoint) }
    try await xsub.send([[1] + Array("customer.".utf8)])
    let subscription = try await withDeadline(.seconds(5), "subscription") { try await xpub.receive() }
    #expect(subscription[0].bytes == [1] + Array("customer.".utf8))
    try await xpub.send([Array("customer.identified".utf8), Array("{}".utf8)])
    try await xpub.send([Array("order.placed".utf8), Array("{}".utf8)])
    try await xpub.send([Array("customer.merged".utf8), Array("{}".utf8)])
    let first = try await withDeadline(.seconds(5), "first") { try await xsub.receive() }
    let second = try await withDeadline(.seconds(5), "second") { try await xsub.receive() }
    #expect(first[0].string == "customer.identified")
    #expect(second[0].string == "customer.merged")
  }

  @Test(arguments: transports)
  func dealerRouterRoundTripWithRoutingId(transport: String) async throws {
    let context = try Context()
    let router = try await AsyncSocket(context, type: .router) { try $0.set(.routerMandatory(true)) }
    let endpoint = try await router.bind(Self.endpoint(transport))
    let dealer = try await AsyncSocket(context, type: .dealer) { socket in
      try socket.set(.routingId(Array("till-7".utf8)))
      try socket.connect(endpoint)
    }
    let big = [UInt8](repeating: 0xAB, count: 1 << 20)
    try await dealer.send([Array("receipt".utf8), [], big])
    let request = try await withDeadline(.seconds(5), "request") { try await router.receive() }
    #expect(request.count == 4)
    #expect(request[0].string == "till-7")
    #expect(request[3].count == big.count)
    try await router.send([request[0].bytes, Array("ack".utf8)])
    let reply = try await withDeadline(.seconds(5), "reply") { try await dealer.receive() }
    #expect(reply[0].string == "ack")
  }

  @Test(arguments: transports)
  func pushPullKeepsOrder(transport: String) async throws {
    let context = try Context()
    let pull = try await AsyncSocket(context, type: .pull, readAhead: 16)
    let endpoint = try await pull.bind(Self.endpoint(transport))
    let push = try await AsyncSocket(context, type: .push) { socket in
      try socket.set(.sendHighWaterMark(8))
      try socket.connect(endpoint)
    }
    let count = 2_000
    async let sent: Void = {
      for index in 0..<count { try await push.send([withUnsafeBytes(of: UInt32(index)) { Array($0) }]) }
    }()
    var next: UInt32 = 0
    for try await message in pull.messages {
      let value = message[0].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
      #expect(value == next)
      next += 1
      if next == count { break }
    }
    try await sent
    #expect(next == count)
  }

  /// A slow consumer holds its sender back: the read-ahead stops at its capacity and does not
  /// take in another batch each time one message is taken.
  @Test func aSlowConsumerPushesBackOnItsSender() async throws {
    let context = try Context()
    let pull = try await AsyncSocket(context, type: .pull, readAhead: 16) { socket in
      try socket.set(.receiveHighWaterMark(16))
    }
    let endpoint = try await pull.bind(Self.endpoint("ipc"))
    let push = try await AsyncSocket(context, type: .push) { socket in
      try socket.set(.sendHighWaterMark(16))
      try socket.connect(endpoint)
    }
    let sent = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
    let body = [UInt8](repeating: 7, count: 16 * 1024)
    let sender = Task {
      while !stop.load(ordering: .relaxed), sent.load(ordering: .relaxed) < 20_000 {
        guard try await push.send([body], deadline: .now + .milliseconds(200)) else { continue }
        sent.add(1, ordering: .relaxed)
      }
    }
    for _ in 0..<200 {
      _ = try await withDeadline(.seconds(5), "message") { try await pull.receive() }
      try await Task.sleep(for: .milliseconds(1))
    }
    // Taken (200), the read-ahead and one read batch (16 + 256), both high-water marks (32) and
    // what the kernel buffers: far below what an unbounded read-ahead takes in meanwhile.
    let inFlight = sent.load(ordering: .relaxed) - 200
    #expect(inFlight < 600, "\(inFlight) messages of 16 KiB sent beyond those received")
    stop.store(true, ordering: .relaxed)
    try await sender.value
    push.close()
    pull.close()
  }

  @Test(arguments: transports)
  func enqueuedMessagesKeepOrderAmongSendsAndFlushWaitsForThem(transport: String) async throws {
    let context = try Context()
    let pull = try await AsyncSocket(context, type: .pull, readAhead: 64)
    let endpoint = try await pull.bind(Self.endpoint(transport))
    // A small high-water mark: enqueued messages wait on the socket's thread, not in the caller.
    let push = try await AsyncSocket(context, type: .push) { socket in
      try socket.set(.sendHighWaterMark(4))
      try socket.connect(endpoint)
    }
    func message(_ index: Int) -> [[UInt8]] { [withUnsafeBytes(of: UInt32(index)) { Array($0) }, [7]] }
    try push.enqueue(batch: (0..<500).map(message))
    try await push.send(message(500))
    try push.enqueue(batch: (501..<1_000).map(message))
    async let flushed: Void = push.flush()
    var next: UInt32 = 0
    for try await received in pull.messages {
      #expect(received.count == 2)
      #expect(received[0].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } == next)
      next += 1
      if next == 1_000 { break }
    }
    try await flushed
    #expect(next == 1_000)
    push.close()
    try await withDeadline(.seconds(5), "closed") {
      await #expect(throws: (any Error).self) { try await push.flush() }
    }
    #expect(throws: (any Error).self) { try push.enqueue(batch: [message(0)]) }
  }

  @Test func synchronousSocketsRoundTrip() throws {
    let context = try Context()
    let rep = try Socket(context, type: .rep)
    try rep.bind("inproc://sync")
    let req = try Socket(context, type: .req)
    try req.connect("inproc://sync")
    try req.send(multipart: [Array("a".utf8), Array("b".utf8)])
    let request = try #require(try rep.receive())
    #expect(request.frames.map(\.string) == ["a", "b"])
    try rep.send(Array("ok".utf8))
    #expect(try req.receive()?[0].string == "ok")
    #expect(try rep.receive(dontWait: true) == nil)
  }
}
