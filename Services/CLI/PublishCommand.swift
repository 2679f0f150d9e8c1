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

      Events an earlier run left in the outbox (it gave up waiting) are sent first and counted apart.

      Exit status: 0 all published; 65 a bad or too large event (nothing sent) or events the bus \
      rejected; 66 --file unreadable; 75 not all acknowledged within --timeout (they stay in the \
      outbox); 78 a bad setting.
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
      // The outbox keeps the rejections of earlier runs: report only this run's. Events an earlier
      // run left unacknowledged go first, and are told apart.
      let earlierRejections = try await publisher.rejected().count
      let leftovers = try await publisher.pending()
      if leftovers > 0 { print("sending first \(leftovers) events left in \(outbox) by an earlier run") }
      try await publisher.publish(parsed)
      let sender = OutboxSender(database: database, client: client, logger: logger)
      let deadline = ContinuousClock.now + .seconds(timeout)
      var backoff = Duration.milliseconds(50)
      var lastError: (any Error)?
      while try await publisher.pending() > 0 {
        guard ContinuousClock.now < deadline else {
          throw CommandSupport.failure(
            "the bus did not acknowledge \(try await publisher.pending()) events in \(timeout) s; they stay in \(outbox)"
              + (lastError.map { " (last error: \($0))" } ?? ""),
            exitCode: 75)
        }
        do {
          try await sender.sendBatch()
          backoff = .milliseconds(50)
        } catch {
          lastError = error
          try await Task.sleep(for: min(backoff, deadline - ContinuousClock.now))
          backoff = min(backoff * 2, .seconds(1))
        }
      }
      let rejected = try await publisher.rejected().dropFirst(earlierRejections)
      let ours = Set(parsed.map(\.id))
      for item in rejected {
        let whose = ours.contains(item.eventId) ? "" : " (left by an earlier run)"
        print("rejected \(item.eventId)\(whose): field \"\(item.field)\": \(item.reason)")
      }
      let rejectedOfOurs = rejected.filter { ours.contains($0.eventId) }.count
      print(
        "published \(Self.events(parsed.count - rejectedOfOurs))"
          + (rejectedOfOurs == 0 ? "" : ", \(rejectedOfOurs) rejected")
          + (leftovers == 0
            ? "" : "; and \(leftovers - (rejected.count - rejectedOfOurs)) left by an earlier run"))
      if !rejected.isEmpty { throw ExitCode(65) }
    }
  }

  /// The events given, each decoded and checked as the bus checks it; a bad one ends the command
  /// (exit 65) before anything is sent.
  private func readEvents() throws -> [CloudEvent] {
    var texts: [(origin: String, text: String)] = events.enumerated().map { ("argument \($0 + 1)", $1) }
    if let file {
      let content: String
      do {
        content = try String(contentsOfFile: file, encoding: .utf8)
      } catch {
        throw CommandSupport.failure("--file \(file): cannot read it (\(Self.reason(error)))", exitCode: 66)
      }
      let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.hasPrefix("[") {
        guard case .array(let items) = try? JSONValue.parse(Array(trimmed.utf8)) else {
          throw CommandSupport.failure("--file \(file): not a JSON array", exitCode: 65)
        }
        texts += items.enumerated().map {
          ("\(file) item \($0 + 1)", String(decoding: $1.encoded(), as: UTF8.self))
        }
      } else {
        for (number, line) in trimmed.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
          texts.append(("\(file) line \(number + 1)", String(line)))
        }
      }
    }
    guard !texts.isEmpty else {
      throw CommandSupport.failure(
        file == nil ? "no events: give JSON objects or --file" : "--file \(file ?? ""): no events in it",
        exitCode: 65)
    }
    return try texts.map { origin, text in
      let event: CloudEvent
      do {
        event = try CloudEvent.decode(Array(text.utf8))
      } catch {
        throw CommandSupport.failure("\(origin): \(error)", exitCode: 65)
      }
      if let problem = Topic.reservedTypeProblem(event.type) {
        throw CommandSupport.failure("\(origin): field \"type\": \(problem)", exitCode: 65)
      }
      if let problem = BusLimits.sizeProblem(ofEvent: event.encoded()) {
        throw CommandSupport.failure("\(origin): too large: \(problem)", exitCode: 65)
      }
      return event
    }
  }

  /// "1 event", "2 events".
  private static func events(_ count: Int) -> String { count == 1 ? "1 event" : "\(count) events" }

  /// A file error's reason without Foundation's domain and code.
  private static func reason(_ error: any Error) -> String {
    guard
      let posix = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error).map({ $0 as NSError }),
      posix.domain == NSPOSIXErrorDomain
    else { return (error as NSError).localizedDescription }
    return String(cString: strerror(Int32(posix.code)))
  }
}
