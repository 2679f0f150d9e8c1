import ArgumentParser
import Foundation
import PasserelleBus

/// `passerelle up`: the whole suite on this machine as plain processes, with the demo publisher.
struct UpCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "up",
    abstract: "Run the suite locally: the bus (and the services as they land) plus the demo publisher.",
    discussion: "Data lives in --data. Stop with Ctrl-C; every process drains and exits.")

  @OptionGroup var bus: BusOptions
  @Option(help: "Folder for databases and logs.") var data: String = "data"
  @Option(help: "Demo journeys per second (0: no demo).") var demoRate: Double = 2
  @Option(help: "Stop the demo after this many journeys (default: until interrupted).") var demoJourneys: Int?

  func run() async throws {
    let logger = CommandSupport.bootstrapLogging()
    let folder = URL(fileURLWithPath: data, isDirectory: true).standardizedFileURL
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
      .deletingLastPathComponent()
    let busProcess = Process()
    busProcess.executableURL = binaries.appendingPathComponent("passerelle-bus")
    var environment = ProcessInfo.processInfo.environment
    environment["PASSERELLE_BUS_DATABASE_URL"] =
      environment["PASSERELLE_BUS_DATABASE_URL"]
      ?? "sqlite:\(folder.appendingPathComponent("passerelle-bus.db").path)"
    busProcess.environment = environment
    let log = folder.appendingPathComponent("passerelle-bus.log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    busProcess.standardError = try FileHandle(forWritingTo: log)
    try busProcess.run()
    print("passerelle-bus started (pid \(busProcess.processIdentifier)); logs in \(log.path)")
    print("health: http://127.0.0.1:7400/health/ready  metrics: http://127.0.0.1:7400/metrics")
    print("watch the events arrive from another terminal:  .build/debug/passerelle tail")
    defer {
      if busProcess.isRunning {
        busProcess.terminate()
        busProcess.waitUntilExit()
      }
      print("passerelle-bus stopped")
    }
    let client = try CommandSupport.client(bus)
    _ = try await client.info(timeout: .seconds(30))
    if demoRate > 0 {
      try await DemoPublisher.run(
        client: client, outbox: folder.appendingPathComponent("passerelle-demo-outbox.db").path,
        rate: demoRate,
        journeys: demoJourneys, logger: logger)
    }
  }
}
