import ProcWatchCLI

/// Runs `procwatch record …` or `procwatch report …` (the command line `procwatch` passed on).
public func procwatchStoreMain() async -> Never {
    await procwatchStoreMain(storeCommands: [RecordCommand.self, ReportCommand.self, DaemonCommand.self, HistoryCommand.self, HostsCommand.self])
}
