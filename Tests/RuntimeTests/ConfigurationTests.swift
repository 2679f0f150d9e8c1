import ArgumentParser
import Logging
import PasserelleRuntime
import Testing

@Suite struct ConfigurationTests {
  @Test func defaultsApplyWithoutFlagsOrEnvironment() throws {
    let command = try ExampleCommand.parse([])
    let configuration = try command.runtime.resolve(environment: [:])
    #expect(
      configuration
        == RuntimeConfiguration(
          service: "passerelle-example", httpHost: "127.0.0.1", httpPort: 8080, logLevel: .info,
          logFormat: .json, shutdownGracePeriod: .seconds(10)))
  }

  @Test func environmentOverridesDefault() throws {
    let command = try ExampleCommand.parse([])
    let configuration = try command.runtime.resolve(environment: [
      "PASSERELLE_HTTP_HOST": "0.0.0.0", "PASSERELLE_HTTP_PORT": "9100", "PASSERELLE_LOG_LEVEL": "debug",
      "PASSERELLE_LOG_FORMAT": "text", "PASSERELLE_SHUTDOWN_GRACE_SECONDS": "3",
    ])
    #expect(configuration.httpHost == "0.0.0.0")
    #expect(configuration.httpPort == 9100)
    #expect(configuration.logLevel == .debug)
    #expect(configuration.logFormat == .text)
    #expect(configuration.shutdownGracePeriod == .seconds(3))
  }

  @Test func flagOverridesEnvironment() throws {
    let command = try ExampleCommand.parse(["--http-port", "0", "--log-level", "error"])
    let configuration = try command.runtime.resolve(environment: [
      "PASSERELLE_HTTP_PORT": "9100", "PASSERELLE_LOG_LEVEL": "debug",
    ])
    #expect(configuration.httpPort == 0)
    #expect(configuration.logLevel == .error)
  }

  @Test func badEnvironmentValueNamesTheVariableOnOneLine() throws {
    let command = try ExampleCommand.parse([])
    let error = #expect(throws: ConfigurationError.self) {
      try command.runtime.resolve(environment: ["PASSERELLE_HTTP_PORT": "abc"])
    }
    #expect(
      error?.message(service: "passerelle-example")
        == #"passerelle-example: PASSERELLE_HTTP_PORT="abc": not a port number (0-65535)"#)
  }

  @Test func badFlagValueNamesTheFlag() throws {
    let command = try ExampleCommand.parse(["--log-format", "xml\n"])
    let error = #expect(throws: ConfigurationError.self) {
      try command.runtime.resolve(environment: ["PASSERELLE_LOG_FORMAT": "text"])
    }
    #expect(error?.description == #"--log-format="xml\n": not one of json, text"#)
  }

  @Test func serviceSettingResolvesLikeTheCommonOnes() throws {
    let command = try ExampleCommand.parse(["--curve-secret-key", "flag-key"])
    #expect(try Setting.curveSecretKey.resolve(flag: nil, environment: [:]) == nil)
    #expect(
      try Setting.curveSecretKey.resolve(flag: nil, environment: ["PASSERELLE_CURVE_SECRET_KEY": "env-key"])
        == "env-key")
    #expect(
      try Setting.curveSecretKey.resolve(
        flag: command.curveSecretKey, environment: ["PASSERELLE_CURVE_SECRET_KEY": "env-key"]) == "flag-key")
  }

  @Test func secretValuesAreRedactedInErrors() {
    let error = #expect(throws: ConfigurationError.self) {
      try Setting.curveSecretKey.resolve(flag: nil, environment: ["PASSERELLE_CURVE_SECRET_KEY": ""])
    }
    #expect(error?.description == #"PASSERELLE_CURVE_SECRET_KEY="<redacted>": must not be empty"#)
  }

  @Test func helpListsEveryFlagVariableAndDefault() {
    let help = ExampleCommand.helpMessage(columns: 400)
    for line in [
      "--http-host <text>", "(env: PASSERELLE_HTTP_HOST, default: 127.0.0.1)",
      "--http-port <port>",
      "HTTP port for health and metrics, 0 for any free port (env: PASSERELLE_HTTP_PORT, default: 8080)",
      "--log-level <trace|debug|info|notice|warning|error|critical>",
      "(env: PASSERELLE_LOG_LEVEL, default: info)",
      "--log-format <json|text>", "(env: PASSERELLE_LOG_FORMAT, default: json)",
      "--shutdown-grace-seconds <seconds>", "(env: PASSERELLE_SHUTDOWN_GRACE_SECONDS, default: 10)",
      "--curve-secret-key <text>", "(env: PASSERELLE_CURVE_SECRET_KEY, default: none)",
    ] {
      #expect(help.contains(line), "\(line) missing from:\n\(help)")
    }
  }
}
