import ArgumentParser

/// `passerelle`: the operator's command line.
@main struct PasserelleCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "passerelle",
    abstract: "Operate Passerelle: run the suite locally, publish, tail, replay, lag, keys.",
    subcommands: [
      UpCommand.self, PublishCommand.self, TailCommand.self, LagCommand.self, ArchiveCommand.self,
      DemoCommand.self,
      KeysCommand.self,
    ])
}
