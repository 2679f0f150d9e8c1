import ArgumentParser
import Foundation
import PasserelleBus
import PasserelleRuntime
import Synchronization
import UnixSignals

/// `passerelle up`: the whole suite on this machine as plain processes, with the demo publisher.
struct UpCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "up",
    abstract: "Run the suite locally: the bus (and the services as they land) plus the demo publisher.",
    discussion: """
      Data lives in --data. Runs until Ctrl-C (or SIGTERM), with or without the demo, or until the \
      bus exits; every process drains and exits. The endpoint flags apply to the bus started here too.
      """)

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
    // The bus listens where this command's client connects, flags included.
    let (endpoints, _) = try CommandSupport.resolve(bus)
    environment[Setting.busIngest.variable] = endpoints.ingest
    environment[Setting.busLive.variable] = endpoints.live
    environment[Setting.busQuery.variable] = endpoints.query
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
    // Ctrl-C (or SIGTERM) stops everything, whether it comes during the demo or after it.
    let interrupted = Atomic<Bool>(false)
    let signals = Task {
      for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
        interrupted.store(true, ordering: .relaxed)
        return
      }
    }
    defer { signals.cancel() }
    let client = try CommandSupport.client(bus)
    _ = try await client.info(timeout: .seconds(30))
    if demoRate > 0, !interrupted.load(ordering: .relaxed) {
      try await DemoPublisher.run(
        client: client, outbox: folder.appendingPathComponent("passerelle-demo-outbox.db").path,
        rate: demoRate,
        journeys: demoJourneys, logger: logger)
    }
    // Without a demo, or once it has published its journeys, the bus runs on.
    while !interrupted.load(ordering: .relaxed), busProcess.isRunning {
      try await Task.sleep(for: .milliseconds(200))
    }
  }
}
