import Foundation
import PasserelleTestKit
import Testing
import ZeroMQ

/// Cancellation, shutdown, errors and monitoring.
@Suite struct LifecycleTests {
  @Test func cancelledReceiveLoopEndsPromptly() async throws {
    let context = try Context()
    let pull = try await AsyncSocket(context, type: .pull)
    try await pull.bind("inproc://cancel")
    let loop = Task {
      var count = 0
      for try await _ in pull.messages { count += 1 }
      return count
    }
    try await Task.sleep(for: .milliseconds(50))
    loop.cancel()
    let count = try await withDeadline(.seconds(2), "cancelled receive loop") { try await loop.value }
    #expect(count == 0)
  }

  @Test func cancelledSingleReceiveThrowsCancellation() async throws {
    let context = try Context()
    let sub = try await AsyncSocket(context, type: .sub)
    let waiting = Task { try await sub.receive() }
    waiting.cancel()
    await #expect(throws: CancellationError.self) {
      try await withDeadline(.seconds(2), "cancelled receive") { try await waiting.value }
    }
  }

  @Test func receiveWithTimeoutReturnsNilThenTheMessage() async throws {
    let context = try Context()
    let pull = try await AsyncSocket(context, type: .pull)
    try await pull.bind("inproc://timeout")
    let push = try await AsyncSocket(context, type: .push)
    try await push.connect("inproc://timeout")
    let started = ContinuousClock.now
    #expect(try await pull.receive(timeout: .milliseconds(100)) == nil)
    #expect(ContinuousClock.now - started >= .milliseconds(100))
    try await push.send([Array("late".utf8)])
    let message = try await pull.receive(timeout: .seconds(5))
    #expect(message?[0].string == "late")
  }

  @Test func aSendWithADeadlineIsWithdrawnWhenNoPeerTakesIt() async throws {
    let context = try Context()
    // Not connected yet: a DEALER has no peer to take the message, so libzmq holds it back.
    let dealer = try await AsyncSocket(context, type: .dealer)
    let started = ContinuousClock.now
    #expect(try await !dealer.send([Array("stale".utf8)], deadline: .now + .milliseconds(150)))
    let waited = ContinuousClock.now - started
    #expect(waited >= .milliseconds(150) && waited < .seconds(3))
    let router = try await AsyncSocket(context, type: .router)
    try await router.bind("inproc://deadline")
    try await dealer.connect("inproc://deadline")
    #expect(try await dealer.send([Array("fresh".utf8)], deadline: .now + .seconds(5)))
    // The withdrawn message never went out: the peer gets only the second one.
    let received = try await router.receive(timeout: .seconds(5))
    #expect(received?[1].string == "fresh")
    #expect(try await router.receive(timeout: .milliseconds(200)) == nil)
  }

  @Test func shuttingDownContextWithOpenSocketsDoesNotHang() async throws {
    try await withDeadline(.seconds(5), "context shutdown") {
      let context = try Context()
      let router = try await AsyncSocket(context, type: .router)
      try await router.bind("inproc://shutdown")
      let dealer = try await AsyncSocket(context, type: .dealer)
      try await dealer.connect("inproc://shutdown")
      let sync = try Socket(context, type: .pub)
      try sync.bind("inproc://shutdown-sync")
      let waiting = Task { try await router.receive() }
      context.shutdown()
      await #expect(throws: ZMQError.self) { try await waiting.value }
      await #expect(throws: (any Error).self) { try await dealer.send([[1]]) }
      sync.close()
    }
  }

  @Test func closedSocketFailsPendingAndLaterCalls() async throws {
    let context = try Context()
    let pull = try await AsyncSocket(context, type: .pull)
    let waiting = Task { try await pull.receive() }
    try await Task.sleep(for: .milliseconds(20))
    pull.close()
    await #expect(throws: AsyncSocket.Closed.self) { try await waiting.value }
    await #expect(throws: AsyncSocket.Closed.self) { try await pull.receive() }
  }

  @Test func failuresNameTheCallAndErrno() async throws {
    let context = try Context()
    let socket = try Socket(context, type: .pub)
    let error = try #require(throws: ZMQError.self) { try socket.bind("bogus://nowhere") }
    #expect(error.call == "zmq_bind")
    #expect(error.name == "EPROTONOSUPPORT")
    #expect(error.description.contains("bogus://nowhere"))

    try socket.bind("tcp://127.0.0.1:*")
    let taken = try socket.lastEndpoint()
    let second = try Socket(context, type: .pub)
    let inUse = try #require(throws: ZMQError.self) { try second.bind(taken) }
    #expect(inUse.name == "EADDRINUSE")

    await #expect(throws: ZMQError.self) {
      _ = try await AsyncSocket(context, type: .sub) { try $0.connect("tcp://no-port") }
    }
  }

  @Test func monitorReportsListeningAndAccepted() async throws {
    let context = try Context()
    let router = try Socket(context, type: .router)
    let monitorEndpoint = try router.startMonitor(events: .init(.listening, .accepted))
    let monitor = try Socket(context, type: .pair)
    try monitor.connect(monitorEndpoint)
    try router.bind("tcp://127.0.0.1:*")
    let endpoint = try router.lastEndpoint()
    let dealer = try Socket(context, type: .dealer)
    try dealer.connect(endpoint)
    try monitor.set(.receiveTimeout(5000))
    var kinds: [SocketEvent.Kind] = []
    while kinds.count < 2, let message = try monitor.receive() {
      let event = try #require(SocketEvent(message: message))
      #expect(event.endpoint.hasPrefix("tcp://127.0.0.1:"))
      kinds.append(event.kind)
    }
    #expect(kinds == [.listening, .accepted])
  }

  @Test func optionsAreApplied() throws {
    let context = try Context()
    let socket = try Socket(context, type: .xpub)
    try socket.set(.sendHighWaterMark(1234))
    try socket.set(.xpubNoDrop(true))
    try socket.set(.heartbeat(interval: 1000, timeout: 3000, ttl: 3000))
    try socket.set(.reconnect(interval: 100, maximum: 5000))
    try socket.set(.linger(milliseconds: 0))
    try socket.set(.immediate(true))
    #expect(try socket.intOption(23) == 1234)  // ZMQ_SNDHWM
  }

  @Test func tcpKeepaliveIsApplied() throws {
    let context = try Context()
    let socket = try Socket(context, type: .sub)
    try socket.set(.tcpKeepalive(idle: 5, interval: 2, count: 4))
    #expect(try socket.intOption(34) == 1)  // ZMQ_TCP_KEEPALIVE
    #expect(try socket.intOption(36) == 5)  // ZMQ_TCP_KEEPALIVE_IDLE
    #expect(try socket.intOption(37) == 2)  // ZMQ_TCP_KEEPALIVE_INTVL
    #expect(try socket.intOption(35) == 4)  // ZMQ_TCP_KEEPALIVE_CNT
  }
}
