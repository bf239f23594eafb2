/// One connected client as the metrics see it.
public struct ClientStatus: Sendable, Equatable {
    /// The hub's number for the connection (in order of acceptance, from 1).
    public var id: Int
    /// The client's pid and uid (SO_PEERCRED).
    public var pid: Int32
    public var uid: UInt32
    /// Whether it sees every event or only its own processes'.
    public var visibility: ClientVisibility
    /// Events selected for it and not yet written to its socket.
    public var pending: Int
    /// Events dropped for it because its queue was full, since it connected.
    public var dropped: Int
    /// Events written to its socket since it connected.
    public var delivered: Int
}

/// The hub at one moment, for the metrics.
public struct ClientHubStatus: Sendable, Equatable {
    /// The clients that sent a valid selection and receive events, in order of acceptance.
    public var clients: [ClientStatus]
    /// Requests refused since the hub started (bad selection, timeout, oversized line, …).
    public var refused: Int
}
