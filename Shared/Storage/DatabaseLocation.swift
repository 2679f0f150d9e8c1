import Foundation
import NIOSSL
import PostgresNIO

/// Where a database URL points: a SQLite file or a PostgreSQL server.
enum DatabaseLocation {
  case sqlite(path: String)
  case postgres(PostgresClient.Configuration)

  /// Parses `sqlite:///abs/path.db`, `sqlite:relative.db`, a bare file path, or
  /// `postgres://user:password@host:port/database?sslmode=…&search_path=…`.
  ///
  /// Query parameters other than `sslmode` (`disable`, the default; `prefer`; `require`) are sent
  /// to the server as startup parameters, such as `search_path` or `application_name`.
  init(parsing url: String) throws {
    func invalid(_ problem: String) -> StorageError {
      StorageError(code: .invalidURL, message: problem, url: Self.masked(url))
    }
    if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
      guard let components = URLComponents(string: url) else { throw invalid("not a valid URL") }
      guard let host = components.host, !host.isEmpty else { throw invalid("missing host") }
      guard let user = components.user, !user.isEmpty else { throw invalid("missing user name") }
      let database = String(components.path.drop(while: { $0 == "/" }))
      var configuration = PostgresClient.Configuration(
        host: host, port: components.port ?? 5432, username: user, password: components.password,
        database: database.isEmpty ? nil : database, tls: .disable)
      for item in components.queryItems ?? [] {
        switch (item.name, item.value ?? "") {
        case ("sslmode", "disable"): configuration.tls = .disable
        case ("sslmode", "prefer"): configuration.tls = .prefer(.makeClientConfiguration())
        case ("sslmode", "require"): configuration.tls = .require(.makeClientConfiguration())
        case ("sslmode", let mode): throw invalid("unsupported sslmode '\(mode)' (disable, prefer, require)")
        case ("synchronous_commit", let value)
        where !["on", "local", "remote_write", "remote_apply"].contains(value.lowercased()):
          throw invalid(
            "synchronous_commit=\(value): a commit would return before it is durable (on, local, remote_write, remote_apply)"
          )
        case (let name, let value): configuration.options.additionalStartupParameters.append((name, value))
        }
      }
      // A commit returns once it is durable, whatever the server's default: what we acknowledge
      // after a commit (events, outbox rows, checkpoints) must survive a crash of the server.
      if !configuration.options.additionalStartupParameters.contains(where: { $0.0 == "synchronous_commit" })
      {
        configuration.options.additionalStartupParameters.append(("synchronous_commit", "on"))
      }
      self = .postgres(configuration)
    } else if url.hasPrefix("sqlite:") {
      let path =
        url.hasPrefix("sqlite://") ? url.dropFirst("sqlite://".count) : url.dropFirst("sqlite:".count)
      guard !path.isEmpty else { throw invalid("missing SQLite file path") }
      self = .sqlite(path: String(path))
    } else if let scheme = url.range(of: "://").map({ url[..<$0.lowerBound] }) {
      throw invalid("unsupported scheme '\(scheme)' (use sqlite: or postgres://)")
    } else {
      guard !url.isEmpty else { throw invalid("empty database URL") }
      self = .sqlite(path: url)
    }
  }

  /// `url` with the password, if any, replaced by `***`.
  static func masked(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://"),
      let at = url[schemeEnd.upperBound...].lastIndex(of: "@"),
      let colon = url[schemeEnd.upperBound..<at].firstIndex(of: ":")
    else { return url }
    return url[..<url.index(after: colon)] + "***" + url[at...]
  }
}
