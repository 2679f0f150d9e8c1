public import Hummingbird
public import Prometheus

/// The routes every service serves: `/health/live`, `/health/ready` and `/metrics`.
///
/// They carry no personal data: a status, the names of components that are not ready, and metrics.
public enum HealthRouter {
  /// A router with the health and metrics routes; add the service's own routes to it.
  public static func make(
    readiness: Readiness,
    registry: PrometheusCollectorRegistry
  ) -> Router<BasicRequestContext> {
    let router = Router()
    router.get("health/live") { _, _ in
      HealthReport(status: "live", notReady: nil)
    }
    router.get("health/ready") { _, _ in
      let notReady = readiness.notReady
      return EditedResponse(
        status: notReady.isEmpty ? .ok : .serviceUnavailable,
        response: HealthReport(status: notReady.isEmpty ? "ready" : "not ready", notReady: notReady)
      )
    }
    router.get("metrics") { _, _ in
      var bytes: [UInt8] = []
      registry.emit(into: &bytes)
      return Response(
        status: .ok,
        headers: [.contentType: "text/plain; version=0.0.4"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
      )
    }
    return router
  }
}

/// The JSON body of the health routes: `{"status":"not ready","notReady":["broker"]}`.
struct HealthReport: ResponseEncodable {
  var status: String
  var notReady: [String]?
}
