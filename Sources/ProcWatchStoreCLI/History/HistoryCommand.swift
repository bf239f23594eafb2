import ArgumentParser
import ProcWatchCLI

/// `procwatch history`: see ``StoreCommandConfigurations/history``.
struct HistoryCommand: ParsableCommand {
    static let configuration = StoreCommandConfigurations.history

    func run() throws {
        FileHandleOutput.standardError("procwatch: history: not built yet")
        throw ExitCode(2)
    }
}
