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

  func validate() throws {
    guard demoRate >= 0 else {
      throw ValidationError("--demo-rate must be 0 (no demo) or more, got \(demoRate)")
    }
    if let demoJourneys, demoJourneys < 1 {
      throw ValidationError("--demo-journeys must be at least 1, got \(demoJourneys)")
    }
  }

  func run() async throws {
    let logger = CommandSupport.bootstrapLogging()
    let folder = URL(fileURLWithPath: data, isDirectory: true).standardizedFileURL
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    // Beside this executable, however it was started (by path, or found on PATH).
    let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      .deletingLastPathComponent()
    let busExecutable = binaries.appendingPathComponent("passerelle-bus")
    guard FileManager.default.isExecutableFile(atPath: busExecutable.path) else {
      throw CommandSupport.failure("passerelle-bus not found at \(busExecutable.path)", exitCode: 69)
    }
    let busProcess = Process()
    busProcess.executableURL = busExecutable
    var environment = ProcessInfo.processInfo.environment
    // The bus listens where this command's client connects, flags included.
    let (endpoints, _) = try CommandSupport.resolve(bus)
    environment[Setting.busIngest.variable] = endpoints.ingest
    environment[Setting.busLive.variable] = endpoints.live
    environment[Setting.busQuery.variable] = endpoints.query
    environment["PASSERELLE_BUS_DATABASE_URL"] =
      environment["PASSERELLE_BUS_DATABASE_URL"]
      ?? "sqlite:\(folder.appendingPathComponent("passerelle-bus.db").path)"
    // The bus drains and exits when this command exits, even killed with SIGKILL.
    environment[Setting.parentPID.variable] = String(getpid())
    busProcess.environment = environment
    let log = folder.appendingPathComponent("passerelle-bus.log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    busProcess.standardError = try FileHandle(forWritingTo: log)
    try busProcess.run()
    let host = try Setting.httpHost.resolve(flag: nil, environment: environment)
    let port = try Setting.busHTTPPort.resolve(flag: nil, environment: environment)
    let http = port == 0 ? "http://\(host):<port in the log>" : "http://\(host):\(port)"
    print("passerelle-bus started (pid \(busProcess.processIdentifier)); logs in \(log.path)")
    print("health: \(http)/health/ready  metrics: \(http)/metrics")
    print(
      "watch the events arrive from another terminal:  \(binaries.appendingPathComponent("passerelle").path) tail"
    )
    fflush(nil)  // stdout is fully buffered when redirected: the banner goes out now
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
    // Until the bus answers, or exits (a bad setting, a taken port), or Ctrl-C.
    var answered = false
    /// The bus ended without being asked to: its status and the end of its log.
    func busEnded(_ when: String) -> any Error {
      let lines = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").suffix(3) ?? []
      let ended =
        busProcess.terminationReason == .uncaughtSignal
        ? "was killed by signal \(busProcess.terminationStatus)"
        : "exited with status \(busProcess.terminationStatus)"
      return CommandSupport.failure(
        "passerelle-bus \(ended) \(when); \(log.path) ends with:\n" + lines.joined(separator: "\n"),
        exitCode: 69)
    }
    for _ in 0..<60 where !answered && !interrupted.load(ordering: .relaxed) {
      guard busProcess.isRunning else { throw busEnded("while starting") }
      answered = (try? await client.info(timeout: .milliseconds(500))) != nil
    }
    guard answered || interrupted.load(ordering: .relaxed) else {
      throw CommandSupport.failure("passerelle-bus did not answer within 30 s; see \(log.path)", exitCode: 69)
    }
    if demoRate > 0, !interrupted.load(ordering: .relaxed) {
      let outbox = folder.appendingPathComponent("passerelle-demo-outbox.db").path
      let (rate, journeys) = (demoRate, demoJourneys)
      // The demo ends with its journeys, with Ctrl-C, or when the bus exits under it.
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          try await DemoPublisher.run(
            client: client, outbox: outbox, rate: rate, journeys: journeys, logger: logger)
        }
        group.addTask {
          while busProcess.isRunning, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(200)) }
        }
        try await group.next()
        group.cancelAll()
      }
    }
    // Without a demo, or once it has published its journeys, the bus runs on.
    while !interrupted.load(ordering: .relaxed), busProcess.isRunning {
      try await Task.sleep(for: .milliseconds(200))
    }
    guard interrupted.load(ordering: .relaxed) || busProcess.isRunning else { throw busEnded("unasked") }
  }
}
