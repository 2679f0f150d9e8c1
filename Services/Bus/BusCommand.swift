import ArgumentParser
import Foundation
import Logging
import PasserelleBroker
import PasserelleBus
import PasserelleRuntime
import PasserelleStorage
import ZeroMQ

/// The bus's defaults for the runtime options.
enum BusDefaults: RuntimeDefaults {
  static let service = "passerelle-bus"
  static let httpPort = Setting.busHTTPPort.defaultValue
}

/// `passerelle-bus`: the durable, replayable event bus (docs/PROTOCOL.md).
@main struct BusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: BusDefaults.service, abstract: "Passerelle's durable ZeroMQ event bus.")

  @OptionGroup var options: RuntimeOptions<BusDefaults>
  @Option(name: Setting.busIngest.name, help: Setting.busIngest.help) var ingest: String?
  @Option(name: Setting.busLive.name, help: Setting.busLive.help) var live: String?
  @Option(name: Setting.busQuery.name, help: Setting.busQuery.help) var query: String?
  @Option(name: BusServerSettings.databaseURL.name, help: BusServerSettings.databaseURL.help) var databaseURL:
    String?
  @Option(name: BusServerSettings.partitions.name, help: BusServerSettings.partitions.help) var partitions:
    String?
  @Option(name: BusServerSettings.retentionHours.name, help: BusServerSettings.retentionHours.help)
  var retentionHours: String?
  @Option(name: BusServerSettings.retentionBytes.name, help: BusServerSettings.retentionBytes.help)
  var retentionBytes: String?
  @Option(name: BusServerSettings.liveHighWaterMark.name, help: BusServerSettings.liveHighWaterMark.help)
  var liveHighWaterMark: String?
  @Option(name: BusServerSettings.secretKey.name, help: BusServerSettings.secretKey.help) var secretKey:
    String?
  @Option(name: BusServerSettings.allowedKeys.name, help: BusServerSettings.allowedKeys.help) var allowedKeys:
    String?
  @Option(name: BusServerSettings.allowPlainRemote.name, help: BusServerSettings.allowPlainRemote.help)
  var allowPlainRemote: String?

  func run() async throws {
    let runtime = try ServiceRuntime.bootstrap(options)
    let configuration = try brokerConfiguration(runtime)
    let url = try runtime.setting(BusServerSettings.databaseURL, flag: databaseURL)
    var opened = false
    do {
      try await Database.withDatabase(url: url, logger: runtime.logger) { database in
        opened = true
        let bus = BrokerService(configuration: configuration, database: database, logger: runtime.logger) {
          runtime.readiness.markReady()
        }
        try await runtime.run(services: [bus])
      }
    } catch let error as StorageError where !opened {
      // The database could not be opened: a start-up error that names the variable.
      throw Runtime.report(
        ConfigurationError(
          variable: BusServerSettings.databaseURL.variable, value: Database.masked(url), reason: error.message
        ),
        service: BusDefaults.service)
    } catch let failure as BindFailure {
      let variable =
        switch failure.socket {
        case .ingest: Setting.busIngest.variable
        case .live: Setting.busLive.variable
        case .query: Setting.busQuery.variable
        }
      throw Runtime.report(
        ConfigurationError(
          variable: variable, value: failure.endpoint, reason: "cannot bind: \(failure.reason)"),
        service: BusDefaults.service)
    }
  }

  private func brokerConfiguration(_ runtime: ServiceRuntime) throws -> BrokerConfiguration {
    let endpoints = BusEndpoints(
      ingest: try runtime.setting(.busIngest, flag: ingest), live: try runtime.setting(.busLive, flag: live),
      query: try runtime.setting(.busQuery, flag: query))
    let variables = [Setting.busIngest.variable, Setting.busLive.variable, Setting.busQuery.variable]
    if let error = endpoints.configurationError(names: variables) {
      throw Runtime.report(error, service: BusDefaults.service)
    }
    let hours = try runtime.setting(BusServerSettings.retentionHours, flag: retentionHours)
    let bytes = try runtime.setting(BusServerSettings.retentionBytes, flag: retentionBytes)
    let security = try serverSecurity(runtime)
    if security == nil, try !runtime.setting(BusServerSettings.allowPlainRemote, flag: allowPlainRemote) {
      for (endpoint, variable) in zip(endpoints.all, variables) where !BusEndpoints.isLocal(endpoint) {
        throw Runtime.report(
          ConfigurationError(
            variable: variable, value: endpoint,
            reason: "not a loopback or ipc endpoint; set PASSERELLE_BUS_SECRET_KEY for CURVE or "
              + "PASSERELLE_BUS_ALLOW_PLAIN_REMOTE=true"), service: BusDefaults.service)
      }
    }
    return BrokerConfiguration(
      endpoints: endpoints, partitions: try runtime.setting(BusServerSettings.partitions, flag: partitions),
      retentionAge: hours == 0 ? nil : .seconds(hours * 3600),
      retentionBytes: bytes == 0 ? nil : Int64(bytes),
      liveHighWaterMark: Int32(
        try runtime.setting(BusServerSettings.liveHighWaterMark, flag: liveHighWaterMark)),
      security: security)
  }

  private func serverSecurity(_ runtime: ServiceRuntime) throws -> BusServerSecurity? {
    let allowed = (try runtime.setting(BusServerSettings.allowedKeys, flag: allowedKeys) ?? "")
      .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard let secret = try runtime.setting(BusServerSettings.secretKey, flag: secretKey) else {
      // Client keys without a server key: the operator meant CURVE, and would get none.
      guard allowed.isEmpty else {
        throw Runtime.report(
          ConfigurationError(
            variable: BusServerSettings.secretKey.variable, value: "",
            reason:
              "required when \(BusServerSettings.allowedKeys.variable) is set: without it the bus would run without CURVE"
          ),
          service: BusDefaults.service)
      }
      return nil
    }
    let variable = BusServerSettings.allowedKeys.variable
    guard !allowed.isEmpty else {
      throw Runtime.report(
        ConfigurationError(
          variable: variable, value: "", reason: "required with CURVE: no client could connect"),
        service: BusDefaults.service)
    }
    for key in allowed where (try? CurveKeyPair.rawKey(z85: key)) == nil {
      throw Runtime.report(
        ConfigurationError(variable: variable, value: key, reason: "not a 40-character Z85 CURVE key"),
        service: BusDefaults.service)
    }
    guard let publicKey = try? CurveKeyPair.publicKey(forSecretKey: secret),
      let keyPair = try? CurveKeyPair(publicKey: publicKey, secretKey: secret)
    else {
      throw Runtime.report(
        ConfigurationError(
          variable: BusServerSettings.secretKey.variable, value: "<redacted>",
          reason: "not a CURVE secret key"),
        service: BusDefaults.service)
    }
    return BusServerSecurity(keyPair: keyPair, allowedClientKeys: Set(allowed))
  }
}
