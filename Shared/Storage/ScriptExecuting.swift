/// A transaction that can run a script of several `;`-separated statements without bindings,
/// as migrations need.
protocol ScriptExecuting: SQLTransaction {
  /// Runs every statement of `sql` in order.
  func executeScript(_ sql: String) async throws
}
