import Logging
import PasserelleStorage
import Testing

@Suite struct UnreachableTmpTests {
  @Test func unreachable() async throws {
    let start = ContinuousClock.now
    do {
      try await Database.withDatabase(url: "postgres://bus:pw@127.0.0.1:1/x", logger: Logger(label: "t")) { db in
        _ = try await db.query("SELECT 1", [])
      }
    } catch {
      print("ERROR after \(ContinuousClock.now - start): \(error)")
    }
  }
}
