public import Logging

extension Setting where Value == String {
  /// `--http-host` / `PASSERELLE_HTTP_HOST`: the address the health and metrics server binds.
  public static var httpHost: Self {
    Self(
      flag: "http-host", variable: "PASSERELLE_HTTP_HOST",
      summary: "Address for health and metrics", default: "127.0.0.1", parser: .string)
  }
}

extension Setting where Value == Int {
  /// `--http-port` / `PASSERELLE_HTTP_PORT`, defaulting to the service's own port.
  public static func httpPort(default port: Int) -> Self {
    Self(
      flag: "http-port", variable: "PASSERELLE_HTTP_PORT",
      summary: "HTTP port for health and metrics, 0 for any free port", default: port, parser: .port)
  }

  /// `--shutdown-grace-seconds` / `PASSERELLE_SHUTDOWN_GRACE_SECONDS`: drain time before cancelling.
  public static var shutdownGraceSeconds: Self {
    Self(
      flag: "shutdown-grace-seconds", variable: "PASSERELLE_SHUTDOWN_GRACE_SECONDS",
      summary: "Seconds to drain on SIGTERM before cancelling", default: 10,
      parser: .integer(in: 0...3600, valueName: "seconds"))
  }
}

extension Setting where Value == Int? {
  /// `--parent-pid` / `PASSERELLE_PARENT_PID`: drain and exit once the process with this pid is no
  /// longer the service's parent. `passerelle up` sets it, so that its services stop with it even
  /// when it is killed with SIGKILL; a supervisor that restarts services leaves it unset.
  public static var parentPID: Self {
    Self(
      flag: "parent-pid", variable: "PASSERELLE_PARENT_PID",
      summary: "Drain and exit once this process is no longer the parent", default: nil,
      parser: .optional(.integer(in: 1...Int(Int32.max), valueName: "pid")))
  }
}

extension Setting where Value == Logger.Level {
  /// `--log-level` / `PASSERELLE_LOG_LEVEL`: trace, debug, info, notice, warning, error or critical.
  public static var logLevel: Self {
    Self(
      flag: "log-level", variable: "PASSERELLE_LOG_LEVEL",
      summary: "Lowest level logged", default: .info, parser: .oneOf)
  }
}

extension Setting where Value == LogFormat {
  /// `--log-format` / `PASSERELLE_LOG_FORMAT`: json or text.
  public static var logFormat: Self {
    Self(
      flag: "log-format", variable: "PASSERELLE_LOG_FORMAT",
      summary: "Log line format", default: .json, parser: .oneOf)
  }
}
