/// How log lines are written to stderr.
public enum LogFormat: String, Sendable, CaseIterable {
  /// One JSON object per line (``JSONLogHandler``), for log collectors.
  case json
  /// swift-log's plain text lines, for people at a terminal.
  case text
}
