import ArgumentParser
import PasserelleRuntime
import ZeroMQ

/// The options every bus client accepts (`@OptionGroup`): the three endpoints and CURVE keys.
public struct BusOptions: ParsableArguments {
  @Option(name: Setting.busIngest.name, help: Setting.busIngest.help) var ingest: String?
  @Option(name: Setting.busLive.name, help: Setting.busLive.help) var live: String?
  @Option(name: Setting.busQuery.name, help: Setting.busQuery.help) var query: String?
  @Option(name: Setting.busServerKey.name, help: Setting.busServerKey.help) var serverKey: String?
  @Option(name: Setting.busClientSecretKey.name, help: Setting.busClientSecretKey.help) var clientSecretKey:
    String?

  /// Creates options with no flags given.
  public init() {}

  /// Resolves the endpoints and, when both keys are set, the CURVE settings.
  ///
  /// - Throws: ``ConfigurationError`` naming the variable or flag that is wrong.
  public func resolve(environment: [String: String]) throws(ConfigurationError) -> (
    BusEndpoints, BusClientSecurity?
  ) {
    let endpoints = BusEndpoints(
      ingest: try Setting.busIngest.resolve(flag: ingest, environment: environment),
      live: try Setting.busLive.resolve(flag: live, environment: environment),
      query: try Setting.busQuery.resolve(flag: query, environment: environment))
    let sources = [(Setting.busIngest, ingest), (.busLive, live), (.busQuery, query)]
    if let error = endpoints.configurationError(
      names: sources.map { $1 == nil ? $0.variable : "--\($0.flag)" })
    {
      throw error
    }
    let server = try Setting.busServerKey.resolve(flag: serverKey, environment: environment)
    let secret = try Setting.busClientSecretKey.resolve(flag: clientSecretKey, environment: environment)
    switch (server, secret) {
    case (nil, nil):
      return (endpoints, nil)
    case (let server?, let secret?):
      guard let publicKey = try? CurveKeyPair.publicKey(forSecretKey: secret),
        let keyPair = try? CurveKeyPair(publicKey: publicKey, secretKey: secret)
      else {
        throw ConfigurationError(
          variable: Setting.busClientSecretKey.variable, value: "<redacted>", reason: "not a CURVE secret key"
        )
      }
      return (endpoints, BusClientSecurity(serverPublicKey: server, keyPair: keyPair))
    case (nil, _?):
      throw ConfigurationError(
        variable: Setting.busServerKey.variable, value: "", reason: "required when a client secret key is set"
      )
    case (_?, nil):
      throw ConfigurationError(
        variable: Setting.busClientSecretKey.variable, value: "",
        reason: "required when the server key is set")
    }
  }
}

extension BusClientSecurity {
  /// The socket option that makes a client socket speak CURVE to the bus.
  public var socketOption: SocketOption {
    .curveClient(serverKey: serverPublicKey, keyPair: keyPair)
  }
}
