/// How the client socket is served: where, to whom, and how much a slow client may fall behind.
public struct ClientHubSettings: Sendable, Equatable {
    /// The Unix socket's path (its parent directory is created, mode 0755, if missing).
    public var socketPath: String
    /// The socket file's permission bits. Default 0666: anyone may connect, and what each
    /// client sees is decided by its credentials (``ClientVisibility``), not by the file.
    public var socketMode: UInt32 = 0o666
    /// The configured group: the socket file's group, and whose members see every event.
    /// nil: the file keeps the daemon's group and only root sees everything.
    public var group: UInt32? = nil
    /// How many selected events a client may have waiting (not yet written to its socket)
    /// before further ones are dropped for it and later reported as a `backlog` loss.
    public var queueLimit: Int = 8192
    /// How long a client may take to send its selection.
    public var selectionTimeout: Duration = .seconds(10)
    /// The longest selection line accepted, in bytes, its newline not counted.
    public var selectionLimit: Int = 65_536
    /// Where the daemon's events come from, as the hello names it: `bpf` or `connector`.
    public var source: String = "connector"
    /// The daemon's release, as the hello names it.
    public var version: String = "0.1.0"

    /// Settings for a socket at `socketPath`, everything else at its default.
    public init(socketPath: String) {
        self.socketPath = socketPath
    }
}
