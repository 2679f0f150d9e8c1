import ArgumentParser
import Foundation
import Logging
import PasserelleBus
import PasserelleStorage
import ServiceLifecycle
import UnixSignals

/// `passerelle demo`: publishes sample customer journeys through an outbox, as a service would.
struct DemoCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Publish sample customer journeys (web browse, sign-up, store purchase) to the bus.")

  @OptionGroup var bus: BusOptions
  @Option(help: "Journeys per second.") var rate: Double = 2
  @Option(help: "Stop after this many journeys (default: until interrupted).") var journeys: Int?
  @Option(help: "The demo publisher's outbox database.") var outbox: String = "data/passerelle-demo-outbox.db"

  func validate() throws {
    guard rate > 0 else {
      throw ValidationError("--rate must be more than 0 journeys per second, got \(rate)")
    }
    if let journeys, journeys < 1 { throw ValidationError("--journeys must be at least 1, got \(journeys)") }
  }

  func run() async throws {
    let logger = CommandSupport.bootstrapLogging()
    let client = try CommandSupport.client(bus)
    try await DemoPublisher.run(
      client: client, outbox: outbox, rate: rate, journeys: journeys, logger: logger)
  }
}

/// The demo publisher as a pair of services: the journey generator and the outbox sender.
enum DemoPublisher {
  /// Publishes journeys until `journeys` are sent or the process is asked to stop.
  static func run(client: BusClient, outbox: String, rate: Double, journeys: Int?, logger: Logger)
    async throws
  {
    try await Database.withDatabase(url: outbox, logger: logger, migrations: BusClientSchema.migrations) {
      database in
      let generator = JourneyGenerator(
        publisher: Publisher(database: database), rate: rate, journeys: journeys)
      let sender = OutboxSender(database: database, client: client, logger: logger)
      let group = ServiceGroup(
        configuration: .init(
          services: [
            .init(service: sender),
            .init(service: generator, successTerminationBehavior: .gracefullyShutdownGroup),
          ], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
      try await group.run()
    }
  }

  /// Writes one journey's events into the outbox at the configured rate.
  struct JourneyGenerator: Service {
    let publisher: Publisher
    let rate: Double
    let journeys: Int?

    /// How long the demo waits, once it stops, for its outbox to drain.
    static let drainTime = Duration.seconds(5)

    func run() async throws {
      var samples = SampleJourneys()
      var sent = 0
      while !Task.isShuttingDownGracefully, journeys.map({ sent < $0 }) ?? true {
        try await publisher.publish(try samples.next())
        sent += 1
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1 / max(rate, 0.01))) }
      }
      // Let the sender drain what this run published before the group stops, for a few seconds:
      // with the bus down it never would, and what is left stays in the outbox for the next run.
      let deadline = ContinuousClock.now + Self.drainTime
      while try await publisher.pending() > 0, !Task.isCancelled, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
      }
      let left = try await publisher.pending()
      print(
        "demo published \(sent) journeys"
          + (left > 0 ? "; \(left) events wait in the outbox for the bus (sent on the next run)" : ""))
    }
  }
}
