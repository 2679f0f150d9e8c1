import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import PasserelleRuntime
import Prometheus
import Testing

@Suite struct HealthRouterTests {
  private let registry = PrometheusCollectorRegistry()
  private let readiness = Readiness(components: ["broker", "store"])

  private var runtime: ServiceRuntime {
    ServiceRuntime(
      configuration: RuntimeConfiguration(service: "passerelle-example"),
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
      registry: self.registry,
      readiness: self.readiness
    )
  }

  @Test func liveAnswers200() async throws {
    try await self.runtime.makeApplication().test(.router) { client in
      try await client.execute(uri: "/health/live", method: .get) { response in
        #expect(response.status == .ok)
      }
    }
  }

  @Test func readyAnswers503NamingWhatIsPendingThen200() async throws {
    try await self.runtime.makeApplication().test(.router) { client in
      self.readiness.markReady("store")
      try await client.execute(uri: "/health/ready", method: .get) { response in
        #expect(response.status == .serviceUnavailable)
        let body = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))
        let report = try #require(body as? [String: Any])
        #expect(report["status"] as? String == "not ready")
        #expect(report["notReady"] as? [String] == ["broker"])
      }
      self.readiness.markReady("broker")
      try await client.execute(uri: "/health/ready", method: .get) { response in
        #expect(response.status == .ok)
      }
      self.readiness.beginShutdown()
      try await client.execute(uri: "/health/ready", method: .get) { response in
        #expect(response.status == .serviceUnavailable)
        #expect(String(buffer: response.body).contains(#"["shutdown"]"#))
      }
    }
  }

  @Test func metricsExposeSwiftMetricsCounters() async throws {
    let counter = Counter(
      label: "passerelle_test_events_total", dimensions: [("kind", "order")],
      factory: PrometheusMetricsFactory(registry: self.registry))
    counter.increment(by: 3)
    try await self.runtime.makeApplication().test(.router) { client in
      try await client.execute(uri: "/metrics", method: .get) { response in
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/plain; version=0.0.4")
        #expect(String(buffer: response.body).contains(#"passerelle_test_events_total{kind="order"} 3"#))
      }
    }
  }

  @Test func timersHaveSubMillisecondBuckets() async throws {
    let timer = Metrics.Timer(
      label: "passerelle_test_commit_seconds", factory: Runtime.metricsFactory(registry: self.registry))
    timer.recordNanoseconds(300_000)
    try await self.runtime.makeApplication().test(.router) { client in
      try await client.execute(uri: "/metrics", method: .get) { response in
        let body = String(buffer: response.body)
        #expect(body.contains(#"passerelle_test_commit_seconds_bucket{le="0.00025"} 0"#))
        #expect(body.contains(#"passerelle_test_commit_seconds_bucket{le="0.0005"} 1"#))
      }
    }
  }

  @Test func servicesAddTheirOwnRoutes() async throws {
    let app = self.runtime.makeApplication { router in
      router.get("customers/count") { _, _ in "42" }
    }
    try await app.test(.router) { client in
      try await client.execute(uri: "/customers/count", method: .get) { response in
        #expect(String(buffer: response.body) == "42")
      }
    }
  }
}
