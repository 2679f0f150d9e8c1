import ArgumentParser
import Foundation
import PasserelleBus

/// `passerelle lag`: how far each subscriber is behind the journal.
struct LagCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lag", abstract: "Show each subscriber's distance behind the journal, per partition.")

  @OptionGroup var bus: BusOptions
  @Flag(help: "Print the report as JSON.") var json = false

  func run() async throws {
    _ = CommandSupport.bootstrapLogging()
    let client = try CommandSupport.client(bus)
    let report = try await CommandSupport.reaching(bus) { try await client.lag() }
    if json {
      print(String(decoding: WireJSON.encode(report), as: UTF8.self))
      return
    }
    guard !report.entries.isEmpty else {
      print("no subscriber has reported a position yet (journal heads: \(report.heads.reduce(0, +)) events)")
      return
    }
    print(
      "SUBSCRIBER".padding(toLength: 28, withPad: " ", startingAt: 0)
        + "PARTITION  OFFSET      HEAD        LAG")
    for entry in report.entries {
      let head = report.heads[entry.partition]
      print(
        entry.subscriber.padding(toLength: 28, withPad: " ", startingAt: 0)
          + "\(entry.partition)".padding(toLength: 11, withPad: " ", startingAt: 0)
          + "\(entry.offset)".padding(toLength: 12, withPad: " ", startingAt: 0)
          + "\(head)".padding(toLength: 12, withPad: " ", startingAt: 0) + "\(entry.lag)")
    }
    let behind = Dictionary(grouping: report.entries, by: \.subscriber).mapValues {
      $0.reduce(0) { $0 + $1.lag }
    }
    for (subscriber, lag) in behind.sorted(by: { $0.key < $1.key }) {
      print("total \(subscriber): \(lag) behind")
    }
  }
}
