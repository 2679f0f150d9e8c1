import PasserelleBus
import PasserelleRuntime

/// `passerelle-bus`'s own settings (the endpoints are shared with clients: `BusSettings.swift`).
enum BusServerSettings {
  static let databaseURL = Setting(
    flag: "database-url", variable: "PASSERELLE_BUS_DATABASE_URL",
    summary: "Journal database: sqlite:PATH (default) or postgres://user:pass@host:port/db",
    default: "sqlite:data/passerelle-bus.db", parser: .string, isSecret: false)
  static let partitions = Setting(
    flag: "partitions", variable: "PASSERELLE_BUS_PARTITIONS",
    summary: "Partitions in the journal (fixed at creation)", default: 16, parser: .integer(in: 1...9999))
  static let retentionHours = Setting(
    flag: "retention-hours", variable: "PASSERELLE_BUS_RETENTION_HOURS",
    summary: "Delete events older than this many hours (0: keep)", default: 168,
    parser: .integer(in: 0...1_000_000, valueName: "hours"))
  static let retentionBytes = Setting(
    flag: "retention-bytes", variable: "PASSERELLE_BUS_RETENTION_BYTES",
    summary: "Delete the oldest events while the journal is larger (0: no limit)", default: 0,
    parser: .integer(in: 0...Int.max, valueName: "bytes"))
  static let liveHighWaterMark = Setting(
    flag: "live-hwm", variable: "PASSERELLE_BUS_LIVE_HWM",
    summary: "Live messages queued per subscriber before it misses some (it then repairs by replay)",
    default: 100_000, parser: .integer(in: 1...10_000_000, valueName: "messages"))
  static let secretKey = Setting<String?>(
    flag: "secret-key", variable: "PASSERELLE_BUS_SECRET_KEY",
    summary: "The bus's CURVE secret key (Z85); enables CURVE on every socket", default: nil,
    parser: .optional(.z85Key), isSecret: true)
  static let allowedKeys = Setting<String?>(
    flag: "allowed-keys", variable: "PASSERELLE_BUS_ALLOWED_KEYS",
    summary: "Comma-separated Z85 public keys of the clients allowed in (with CURVE)", default: nil,
    parser: .optional(.string))
  static let allowPlainRemote = Setting(
    flag: "allow-plain-remote", variable: "PASSERELLE_BUS_ALLOW_PLAIN_REMOTE",
    summary: "Allow binding non-loopback endpoints without CURVE", default: false, parser: .boolean)
}
