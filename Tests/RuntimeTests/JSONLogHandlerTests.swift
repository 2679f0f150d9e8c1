import Foundation
import Logging
import PasserelleRuntime
import Testing

@Suite struct JSONLogHandlerTests {
  private func log(_ body: (Logger) -> Void) throws -> [String: Any] {
    let lines = LogLines()
    let logger = Logger(label: "test") { _ in
      JSONLogHandler(service: "passerelle-example", output: lines.append)
    }
    body(logger)
    let line = try #require(lines.all.first)
    #expect(lines.all.count == 1)
    #expect(line.hasSuffix("}\n"))
    #expect(line.dropLast().contains("\n") == false)
    return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
  }

  @Test func writesOneObjectWithTheFixedKeys() throws {
    let object = try log { $0.info("started", metadata: ["events": "3"]) }
    #expect(object["level"] as? String == "info")
    #expect(object["service"] as? String == "passerelle-example")
    #expect(object["msg"] as? String == "started")
    #expect(object["events"] as? String == "3")
    let ts = try #require(object["ts"] as? String)
    #expect(ts.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
  }

  @Test func escapesQuotesBackslashesAndControlCharacters() throws {
    let message = "said \"hi\"\nback\\slash\ttab\u{1}"
    let object = try log { $0.warning("\(message)", metadata: ["msg": "clash", "nested": ["a": ["x\"y"]]]) }
    #expect(object["msg"] as? String == message)
    #expect(object["_msg"] as? String == "clash")
    let nested = try #require(object["nested"] as? [String: Any])
    #expect(nested["a"] as? [String] == ["x\"y"])
  }

  /// The `error` metadata call sites attach is written as `error` (log queries look there), unless
  /// the message carries swift-log's own error, which then takes the key.
  @Test func errorMetadataKeepsItsName() throws {
    struct Failure: Error {}
    let plain = try log { $0.error("stopped on error", metadata: ["error": "zmq_bind failed"]) }
    #expect(plain["error"] as? String == "zmq_bind failed")
    #expect(plain["_error"] == nil)
    let both = try log { $0.error("failed", error: Failure(), metadata: ["error": "details"]) }
    #expect(both["error"] as? String == "Failure()")
    #expect(both["_error"] as? String == "details")
  }

  @Test func respectsTheLogLevel() {
    let lines = LogLines()
    var logger = Logger(label: "test") { _ in JSONLogHandler(service: "s", output: lines.append) }
    logger.logLevel = .warning
    logger.info("hidden")
    logger.error("shown")
    #expect(lines.all.count == 1)
  }
}
