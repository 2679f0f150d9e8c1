import Logging
import PasserelleRuntime
import Prometheus
import ServiceLifecycle
import Testing

@Suite struct ServiceRuntimeTests {
  /// A service that marks itself ready, then records whether readiness was already withdrawn
  /// when it was asked to drain.
  struct DrainingService: Service {
    let readiness: Readiness
    let sawNotReadyOnDrain: LogLines

    func run() async throws {
      self.readiness.markReady()
      try? await gracefulShutdown()
      self.sawNotReadyOnDrain.append("\(self.readiness.notReady)")
    }
  }

  /// Runs the runtime inside an outer group, so the test can trigger the graceful shutdown SIGTERM would.
  struct Host: Service {
    let runtime: ServiceRuntime
    let services: [any Service]

    func run() async throws { try await self.runtime.run(services: self.services) }
  }

  @Test func gracefulShutdownWithdrawsReadinessThenDrainsAndLogsDrained() async throws {
    let lines = LogLines()
    let drains = LogLines()
    let readiness = Readiness()
    let runtime = ServiceRuntime(
      configuration: RuntimeConfiguration(service: "passerelle-example", httpPort: 0),
      logger: Logger(label: "test") { _ in JSONLogHandler(service: "passerelle-example", output: lines.append)
      },
      registry: PrometheusCollectorRegistry(),
      readiness: readiness
    )
    let host = Host(
      runtime: runtime, services: [DrainingService(readiness: readiness, sawNotReadyOnDrain: drains)])
    let group = ServiceGroup(
      services: [host], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    try await withThrowingTaskGroup { tasks in
      tasks.addTask { try await group.run() }
      for _ in 0..<500 where !readiness.isReady { try await Task.sleep(for: .milliseconds(10)) }
      #expect(readiness.isReady)
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
    }
    #expect(drains.all == [#"["shutdown"]"#])
    #expect(lines.all.last?.contains(#""msg":"drained""#) == true)
  }
}
