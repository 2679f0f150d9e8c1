import PasserelleRuntime
import ZeroMQ

extension Setting where Value == String {
  /// The bus's ingest endpoint (ROUTER).
  public static var busIngest: Self {
    Self(
      flag: "bus-ingest", variable: "PASSERELLE_BUS_INGEST", summary: "Bus ingest endpoint (PUBLISH)",
      default: BusEndpoints.loopback.ingest, parser: .string)
  }

  /// The bus's live stream endpoint (XPUB).
  public static var busLive: Self {
    Self(
      flag: "bus-live", variable: "PASSERELLE_BUS_LIVE", summary: "Bus live stream endpoint",
      default: BusEndpoints.loopback.live, parser: .string)
  }

  /// The bus's query endpoint (ROUTER).
  public static var busQuery: Self {
    Self(
      flag: "bus-query", variable: "PASSERELLE_BUS_QUERY", summary: "Bus query endpoint (FETCH, INFO, LAG)",
      default: BusEndpoints.loopback.query, parser: .string)
  }
}

extension Setting where Value == String? {
  /// The bus's CURVE public key, for clients.
  public static var busServerKey: Self {
    Self(
      flag: "bus-server-key", variable: "PASSERELLE_BUS_SERVER_KEY",
      summary: "The bus's CURVE public key (Z85); set with --bus-client-secret-key to use CURVE",
      default: nil,
      parser: .optional(.z85Key))
  }

  /// This client's CURVE secret key; its public key must be on the bus's allow-list.
  public static var busClientSecretKey: Self {
    Self(
      flag: "bus-client-secret-key", variable: "PASSERELLE_BUS_CLIENT_SECRET_KEY",
      summary: "This service's CURVE secret key (Z85)", default: nil, parser: .optional(.z85Key),
      isSecret: true)
  }
}

extension SettingParser where Value == String {
  /// A 40-character Z85 CURVE key.
  public static var z85Key: Self {
    Self(
      valueName: "z85-key", reason: "not a 40-character Z85 CURVE key",
      parse: { (try? CurveKeyPair.rawKey(z85: $0)) == nil ? nil : $0 })
  }
}

extension Setting where Value == Int {
  /// `passerelle-bus`'s health and metrics port (`PASSERELLE_HTTP_PORT`), 7400 by default.
  public static var busHTTPPort: Self { .httpPort(default: 7400) }
}
