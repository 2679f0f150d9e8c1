import Foundation
import PasserelleEvents
import Testing

/// Round trips through the official CloudEvents Python SDK (`pip install cloudevents`), both ways.
///
/// Not skipped when Python or the SDK is missing: it fails and says what to install.
@Suite struct InteropTests {
  static let script = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appending(path: "Interop/cloudevents_interop.py")
  static let timeout: Duration = .seconds(30)

  @Test func pythonSDKReadsOursAndWeReadTheirs() async throws {
    let root = FileManager.default.temporaryDirectory.appending(
      path: "passerelle-interop-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    try FileManager.default.createDirectory(
      at: root.appending(path: "ours"), withIntermediateDirectories: true)

    var ours: [String: CloudEvent] = ["envelope": EnvelopeTests.full]
    for payload in [EventSamples.customer[0], EventSamples.commerce[3], EventSamples.messaging[5]] {
      ours[type(of: payload).eventType] = try EventSamples.goldenEvent(payload)
    }
    for (name, event) in ours {
      try Data(event.encoded()).write(to: root.appending(path: "ours/\(name).json"))
    }

    let (status, output) = try await Self.runScript(root)
    try #require(status != 3, "cloudevents Python SDK missing: run `pip install cloudevents`\n\(output)")
    try #require(status != 127, "python3 not found on PATH; install Python 3 and `pip install cloudevents`")
    try #require(status == 0, "interop script failed (exit \(status)):\n\(output)")

    for (name, event) in ours {
      try Self.checkParsed(root.appending(path: "parsed/\(name).json"), against: event)
    }
    try Self.checkSDKEvents(root.appending(path: "sdk"))
  }

  /// Compares what the SDK understood of our event with the event itself.
  static func checkParsed(_ url: URL, against event: CloudEvent) throws {
    let summary = try #require(try JSONValue.parse(Data(contentsOf: url)).objectValue)
    let attributes = try #require(summary["attributes"]?.objectValue)
    #expect(attributes["id"] == .string(event.id))
    #expect(attributes["source"] == .string(event.source))
    #expect(attributes["type"] == .string(event.type))
    #expect(attributes["specversion"] == .string("1.0"))
    #expect(attributes["partitionkey"] == event.partitionKey.map(JSONValue.string))
    #expect(attributes["traceparent"] == event.traceParent.map(JSONValue.string))
    #expect(attributes["sequence"] == event.sequence.map(JSONValue.string))
    for (name, value) in event.extensions { #expect(attributes[name] == value, "extension \(name)") }
    let expectedExtensions =
      Set(event.extensions.keys)
      .union(
        [
          event.partitionKey.map { _ in "partitionkey" }, event.traceParent.map { _ in "traceparent" },
          event.sequence.map { _ in "sequence" },
        ].compactMap { $0 })
    let extensions = summary["extensions"].flatMap { value -> [String]? in
      guard case .array(let names) = value else { return nil }
      return names.compactMap(\.stringValue)
    }
    #expect(extensions.map(Set.init) == expectedExtensions)
    let time = try #require(attributes["time"]?.stringValue.flatMap(EventTime.parse))
    let expectedTime = try #require(event.time)
    #expect(abs(time.timeIntervalSince(expectedTime)) < 0.000_5)
    #expect(summary["data"] == event.data)
  }

  /// Decodes the events the SDK built and checks every attribute and payload.
  static func checkSDKEvents(_ directory: URL) throws {
    let identified = try CloudEvent.decode(Data(contentsOf: directory.appending(path: "identified.json")))
    #expect(identified.id == "sdk-1")
    #expect(identified.source == "/python/sdk")
    #expect(identified.subject == "cus_py")
    #expect(identified.partitionKey == "cus_py")
    #expect(identified.sequence == "000007")
    #expect(identified.traceParent == EnvelopeTests.traceParent)
    #expect(identified.extensions == ["tenant": .string("acme")])
    let time = try #require(identified.time)
    #expect(abs(time.timeIntervalSince1970 - 1_795_514_400.123456) < 1e-6)
    #expect(
      try identified.payload(as: CustomerIdentified.self)
        == CustomerIdentified(
          customerKey: "cus_py", identities: [CustomerIdentity(kind: .email, value: "lea@example.fr")],
          channel: .web,
          isNewCustomer: true))

    let purchase = try CloudEvent.decode(Data(contentsOf: directory.appending(path: "purchase.json")))
    #expect(purchase.dataContentType == "application/json")
    #expect(purchase.time == Date(timeIntervalSince1970: 1_795_514_400))
    let receipt = try purchase.payload(as: PosPurchaseCompleted.self)
    #expect(receipt.transaction.sequenceNumber == 1188)
    #expect(receipt.total == Money(amountMinor: 5998, currency: "EUR"))
    #expect(receipt.items.first?.quantity == 2)
  }

  /// Runs the interop script on `root`, killing it after `timeout`; returns its status and output.
  static func runScript(_ root: URL) async throws -> (Int32, String) {
    let process = Process()
    // The interpreter scripts/setup installed the SDK for (as the other interop tests use it).
    process.executableURL = URL(filePath: "/usr/bin/env")
    process.arguments = [
      ProcessInfo.processInfo.environment["PASSERELLE_TEST_PYTHON"] ?? "python3", script.path, root.path,
    ]
    let outputURL = root.appending(path: "output.txt")
    try Data().write(to: outputURL)
    let output = try FileHandle(forWritingTo: outputURL)
    defer { try? output.close() }
    process.standardOutput = output
    process.standardError = output
    try process.run()
    defer {  // whatever happens below, the script does not outlive the test
      if process.isRunning {
        process.terminate()
        process.waitUntilExit()
      }
    }
    let deadline = ContinuousClock.now + timeout
    while process.isRunning, ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(20))
    }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      Issue.record("interop script killed after \(timeout)")
    }
    let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
    return (process.terminationStatus, text)
  }
}
