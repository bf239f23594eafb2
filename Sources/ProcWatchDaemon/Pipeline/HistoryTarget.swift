import ProcWatchStore

/// Where the daemon keeps its history: `history.db` in the state directory.
public enum HistoryTarget {
    /// The file's name in the state directory.
    public static let fileName = "history.db"

    /// The history file of `stateDirectory`.
    public static func path(in stateDirectory: String) -> String {
        stateDirectory.hasSuffix("/") ? stateDirectory + fileName : stateDirectory + "/" + fileName
    }
}
