/// The recording a file held last before a new one started in it: whether it ended, and
/// when its last committed event happened — what a daemon restarted after `kill -9` needs to
/// record the gap it left.
public struct PreviousRecording: Sendable, Equatable {
    /// Its `meta` id.
    public var id: Int64
    /// When it ended (RFC 3339), or nil when it never did: cut short, or still being written.
    public var ended: String?
    /// When it started (RFC 3339).
    public var started: String
    /// The time of its newest committed event (RFC 3339), or nil when it has none.
    public var lastEvent: String?
    /// Whether its recorder still runs (holds the recording's lock).
    public var recorderAlive: Bool

    /// Whether its recorder died without ending it (`kill -9`, a crash, a power cut): the
    /// events between ``lastEvent`` and the next recording's start are missing.
    public var wasCutShort: Bool { ended == nil && !recorderAlive }

    /// Creates a description of a previous recording.
    public init(id: Int64, ended: String?, started: String, lastEvent: String?, recorderAlive: Bool) {
        self.id = id
        self.ended = ended
        self.started = started
        self.lastEvent = lastEvent
        self.recorderAlive = recorderAlive
    }
}
