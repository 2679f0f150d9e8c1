/// An error from the storage layer, with what failed and why.
///
/// Errors thrown by a transaction body, and `CancellationError`, pass through unchanged; everything
/// the database reports is wrapped in a `StorageError`.
public struct StorageError: Error, Sendable, CustomStringConvertible {
  /// What kind of failure this is.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private let name: String

    /// The database URL could not be understood.
    public static let invalidURL = Code(name: "invalidURL")
    /// The database could not be opened or reached.
    public static let connectionFailed = Code(name: "connectionFailed")
    /// A statement failed for a reason other than a unique constraint.
    public static let statementFailed = Code(name: "statementFailed")
    /// A statement would have duplicated a value under a `UNIQUE` or `PRIMARY KEY` constraint.
    public static let uniqueViolation = Code(name: "uniqueViolation")
    /// A migration failed; ``StorageError/statement`` names it.
    public static let migrationFailed = Code(name: "migrationFailed")

    /// The name of the code.
    public var description: String { name }
  }

  /// What kind of failure this is.
  public var code: Code
  /// The first words of the statement that failed (or the migration id), when there is one.
  public var statement: String?
  /// The database's own message, or what was wrong with the URL.
  public var message: String
  /// The database URL with any password masked, when the failure concerns the URL or connection.
  public var url: String?

  /// Creates an error.
  public init(code: Code, statement: String? = nil, message: String, url: String? = nil) {
    self.code = code
    self.statement = statement
    self.message = message
    self.url = url
  }

  /// Whether a `UNIQUE` or `PRIMARY KEY` constraint rejected the statement.
  public var isUniqueViolation: Bool { code == .uniqueViolation }

  /// A one-line account of the failure.
  public var description: String {
    var text = "StorageError.\(code): \(message)"
    if let statement { text += " (statement: \(statement))" }
    if let url { text += " (url: \(url))" }
    return text
  }

  /// The first few words of `sql`, enough to recognise a statement without dumping it whole.
  static func summary(of sql: String) -> String {
    let words = sql.split(whereSeparator: \.isWhitespace).prefix(4)
    let text = words.joined(separator: " ")
    return text.count > 60 ? String(text.prefix(60)) + "…" : text
  }
}
