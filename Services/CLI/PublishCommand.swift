import ArgumentParser
import Foundation
import Logging
import PasserelleBus
import PasserelleEvents
import PasserelleStorage

/// `passerelle publish`: events from arguments or a file, through a durable outbox, until acknowledged.
struct PublishCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "publish",
    abstract: "Publish CloudEvents (JSON) to the bus and wait until the bus has stored them all.",
    discussion: """
      Events come from the arguments (one JSON object each) or from --file (JSON lines, or one JSON \
      array). Every event is checked first; a bad one is reported with its field and nothing is sent. \
      They then go into a durable outbox (--outbox), which is drained to the bus in order; \
      resending after a bus restart is safe (the bus stores an event once per source and id).
      """)

  @OptionGroup var bus: BusOptions
  @Option(help: "A file of events: JSON lines, or one JSON array.") var file: String?
  @Option(help: "The outbox database (created if missing; events survive a crash of this command).")
  var outbox: String = "data/passerelle-publish-outbox.db"
  @Option(help: "Give up after this many seconds if the bus has not acknowledged everything.")
  var timeout: Int = 120
  @Argument(help: "Events as JSON objects.") var events: [String] = []

  func run() async throws {
    let logger = CommandSupport.bootstrapLogging()
    let parsed = try readEvents()
    let client = try CommandSupport.client(bus)
    let timeout = self.timeout
    try await Database.withDatabase(url: outbox, logger: logger, migrations: BusClientSchema.migrations) {
      database in
      let publisher = Publisher(database: database)
      try await publisher.publish(parsed)
      let sender = OutboxSender(database: database, client: client, logger: logger)
      let deadline = ContinuousClock.now + .seconds(timeout)
      var backoff = Duration.milliseconds(50)
      while try await publisher.pending() > 0 {
        guard ContinuousClock.now < deadline else {
          throw ValidationError(
            "the bus did not acknowledge \(try await publisher.pending()) events in \(timeout) s; they stay in \(outbox)"
          )
        }
        do {
          try await sender.sendBatch()
          backoff = .milliseconds(50)
        } catch {
          try await Task.sleep(for: backoff)
          backoff = min(backoff * 2, .seconds(1))
        }
      }
      let rejected = try await publisher.rejected()
      for item in rejected { print("rejected \(item.eventId): field \"\(item.field)\": \(item.reason)") }
      print("published \(parsed.count) events")
      if !rejected.isEmpty { throw ExitCode(65) }
    }
  }

  private func readEvents() throws -> [CloudEvent] {
    var texts = events
    if let file {
      let content = try String(contentsOfFile: file, encoding: .utf8)
      let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.hasPrefix("[") {
        guard case .array(let items) = try JSONValue.parse(Array(trimmed.utf8)) else {
          throw ValidationError("\(file): not a JSON array")
        }
        texts += items.map { String(decoding: $0.encoded(), as: UTF8.self) }
      } else {
        texts += trimmed.split(separator: "\n").map(String.init).filter {
          !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
      }
    }
    guard !texts.isEmpty else { throw ValidationError("no events: give JSON objects or --file") }
    return try texts.enumerated().map { index, text in
      do {
        return try CloudEvent.decode(Array(text.utf8))
      } catch {
        throw ValidationError("event \(index + 1): \(error)")
      }
    }
  }
}
