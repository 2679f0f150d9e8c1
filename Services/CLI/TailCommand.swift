import ArgumentParser
import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleRuntime
import PasserelleStorage
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `passerelle tail`: live events, optionally replaying from an offset first.
struct TailCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tail",
    abstract: "Print events as they arrive on the bus (with --from, replay history first).",
    discussion: """
      Each line is `partition:offset type id key=partitionkey`, or the whole event with --json. \
      Nothing is missed or printed twice: offsets are checked and gaps fetched from the journal.
      """)

  @OptionGroup var bus: BusOptions
  @Option(name: .customLong("type"), help: "Only events whose type starts with this (repeatable).")
  var types: [String] = []
  @Option(help: "Only events with this partition key (customer key).") var key: String?
  @Option(help: "Only this partition.") var partition: Int?
  @Option(help: "Replay from this offset in every partition first (default: new events only).") var from:
    Int64?
  @Option(help: "Stop after this many events.") var count: Int?
  @Flag(help: "Print each event as one JSON line with its position.") var json = false

  func validate() throws {
    if let count, count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
    if let from, from < 1 { throw ValidationError("--from must be an offset of 1 or more, got \(from)") }
  }

  func run() async throws {
    let logger = CommandSupport.bootstrapLogging()
    let client = try CommandSupport.client(bus)
    let info = try await CommandSupport.reaching(bus) { try await client.info() }
    var partitions = Set(0..<info.partitions)
    if let partition {
      guard partitions.contains(partition) else {
        throw Runtime.report(
          ConfigurationError(
            variable: "--partition", value: "\(partition)",
            reason: "the bus has partitions 0-\(info.partitions - 1)"),
          service: "passerelle")
      }
      partitions = [partition]
    }
    if let key {
      let keyPartition = Partitioner(count: info.partitions).partition(forKey: key)
      guard partitions.contains(keyPartition) else {
        throw Runtime.report(
          ConfigurationError(
            variable: "--key", value: key,
            reason: "its events are in partition \(keyPartition), not in --partition \(partition ?? 0)"),
          service: "passerelle")
      }
      partitions = [keyPartition]
    }
    let scratch = try CommandSupport.scratchDirectory()
    defer { try? FileManager.default.removeItem(at: scratch) }
    let printer = Printer(key: key, json: json, limit: count)
    let configuration = Subscriber.Configuration(
      name: "passerelle-tail-\(UUID().uuidString.prefix(8))", prefixes: types, assignment: .fixed(partitions),
      start: from.map { .offset($0) } ?? .latest, housekeepingInterval: .milliseconds(250),
      reportsPositions: false)
    let url = scratch.appendingPathComponent("tail.db").path
    try await Database.withDatabase(url: url, logger: logger, migrations: BusClientSchema.migrations) {
      database in
      let subscriber = Subscriber(
        configuration: configuration, database: database, client: client, logger: logger
      ) {
        delivery, _ in
        if printer.print(delivery) { throw Subscriber.Stop() }
      }
      let group = ServiceGroup(
        configuration: .init(
          services: [.init(service: subscriber, successTerminationBehavior: .gracefullyShutdownGroup)],
          gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
      try await group.run()
    }
  }
}

/// Prints deliveries and counts them against `--count`.
final class Printer: Sendable {
  let key: String?
  let json: Bool
  let limit: Int?
  private let printed = Atomic<Int>(0)

  init(key: String?, json: Bool, limit: Int?) {
    self.key = key
    self.json = json
    self.limit = limit
  }

  /// Prints one delivery; returns true when the limit is reached.
  func print(_ delivery: Subscriber.Delivery) -> Bool {
    let event = delivery.event
    if let key, event.partitionKey != key { return false }
    if json {
      let line: JSONValue = .object([
        "partition": .integer(Int64(delivery.position.partition)),
        "offset": .integer(delivery.position.offset),
        "event": event.jsonValue,
      ])
      FileHandle.standardOutput.write(Data(line.encoded() + [0x0A]))
    } else {
      let line = "\(delivery.position) \(event.type) \(event.id) key=\(event.partitionKey ?? "-")\n"
      FileHandle.standardOutput.write(Data(line.utf8))
    }
    guard let limit else { return false }
    return printed.add(1, ordering: .relaxed).newValue >= limit
  }
}
