import Logging
import ProcWatch
import ProcWatchStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's history: one recording per daemon run, appended to `history.db`, with the
/// gap a killed daemon left recorded as such, and a write failure (a full disk) that stops
/// the history without stopping the daemon.
///
/// After a failed commit the recording is over (what was committed stays); every event from
/// then on is counted, and every ``retryInterval`` seconds a new recording is tried. When one
/// starts, its first event is a `lost` report (reason `restart`) with the exact count of the
/// events that went unrecorded, so the history says what it misses. A new recording counts
/// as started at its first commit: one that fails before (the disk is still full) is ended
/// quietly, its events added to the count, so a full disk is one log line, not one per try.
///
/// A history stopped by a full disk is tried again only once its file system has
/// ``resumeHeadroomBytes`` free: a first commit that goes through does not show that space
/// is back, for the failed commit's frames stay allocated at the end of the `-wal` file and a
/// new recording's first commits are written over them while the file system has nothing free.
public final class HistoryRecorder: Sendable {
    /// How often a stopped history tries to start again.
    public static let retryInterval: Double = 10
    /// The free bytes (``freeBytes(near:)``) the history's file system must
    /// have before a history stopped by a full disk is tried again. Not a guarantee that
    /// the next commits fit — the first commit still decides — but more than the few pages a
    /// new recording's first commit takes, so the room the dead commit left in the `-wal`
    /// cannot pass for space on its own (with 0 bytes free, a retry recorded again and the
    /// next commit stopped it again: one "stopped" line per retry).
    public static let resumeHeadroomBytes: Int64 = 1 << 20

    private struct State {
        var recorder: Recorder?
        /// Events received since the history stopped (nil while it records).
        var missed: Int?
        /// When (CLOCK_MONOTONIC seconds) the next start may be tried.
        var nextTry: Double = 0
        /// Whether the history stopped because the disk is full: then a start is tried only
        /// when the file system has room (``resumeHeadroomBytes``).
        var stoppedByFullDisk = false
        /// The time of the newest event handed to the recorder since the last commit.
        var newestRecorded: EventTimestamp?
        /// While a new recording has not committed yet: the events unrecorded before it
        /// (its `lost` report's count) and those handed to it since (all lost too if its
        /// first commit fails).
        var unconfirmed: (missed: Int, since: Int)?
    }

    /// The history file.
    public let path: String
    private let session: RecordingSession
    private let logger: Logger
    private let state: Mutex<State>
    /// Told the time of the newest event of each commit (the metrics' recording lag).
    private let committed: @Sendable (EventTimestamp) -> Void

    /// The `lost` event (reason `restart`) recorded first when the previous run was cut
    /// short, for the fleet sink to record too; nil otherwise.
    public let restartGap: EnrichedEvent?

    /// Opens (or creates) the history at `path` and starts this run's recording in it; when
    /// the file's last recording was cut short (its daemon was killed), records the gap.
    /// Throws the store's one-line error when the file cannot be used at all.
    public init(path: String, session: RecordingSession, logger: Logger,
                committed: @escaping @Sendable (EventTimestamp) -> Void = { _ in }) throws(StoreError) {
        self.path = path
        self.session = session
        self.logger = logger
        self.committed = committed
        let recorder = try Recorder(path: path, session: session)
        state = Mutex(State(recorder: recorder))
        if let previous = recorder.previousRecording, previous.wasCutShort {
            logger.warning("the previous run's history was cut short (last event \(previous.lastEvent ?? "none")): recording the gap")
            let gap = EnrichedEvent(event: ProcessEvent(detail: .lost(count: nil, reason: .restart, cpu: nil), timestamp: .now))
            recorder.record(gap)
            restartGap = gap
        } else {
            restartGap = nil
        }
    }

    /// Adds an event to the next commit (see ``Recorder/record(_:stored:)``); counts it when
    /// the history has stopped.
    public func record(_ enriched: EnrichedEvent, stored: Bool) {
        state.withLock { state in
            guard let recorder = state.recorder else {
                state.missed? += 1
                return
            }
            recorder.record(enriched, stored: stored)
            state.unconfirmed?.since += 1
            state.newestRecorded = enriched.event.timestamp
        }
    }

    /// Commits once the last commit is ``EventPipeline/commitInterval`` old; after a failure,
    /// tries to start a new recording now and then.
    public func commitIfDue() {
        let (recorder, newest) = state.withLock { ($0.recorder, $0.newestRecorded) }
        guard let recorder else { return restartIfDue() }
        do {
            guard try recorder.flush(ifOlderThan: EventPipeline.commitInterval) else { return }
            confirm()
            guard let newest else { return }
            // Only what was recorded before the commit began is in it: a newer event waits.
            state.withLock { if $0.newestRecorded == newest { $0.newestRecorded = nil } }
            committed(newest)
        } catch {
            stop(recorder, error)
        }
    }

    /// One step of retention (see ``HistoryPruner``); nil while the history has stopped.
    public func prune(_ pruner: HistoryPruner) throws(StoreError) -> PruneResult? {
        guard let recorder = state.withLock({ $0.recorder }) else { return nil }
        return try recorder.prune(pruner)
    }

    /// Whether the history records now (false after a write failure, until it starts again).
    public var isRecording: Bool { state.withLock { $0.recorder != nil } }

    /// Commits what is pending and ends the recording (`reason`: `signal`, `error`).
    public func finish(reason: String) {
        guard let recorder = state.withLock({ state in defer { state.recorder = nil }; return state.recorder }) else { return }
        do { try recorder.finish(reason: reason) } catch {
            logger.error("the history could not be closed: \(error)")
        }
    }

    private func stop(_ recorder: Recorder, _ error: StoreError) {
        // The reader's batch end and the pipeline's ticker both commit: when both commits
        // failed, the first to get here stops the recording, the other has nothing to say.
        let (current, retried) = state.withLock { state -> (Bool, Int?) in
            guard state.recorder === recorder else { return (false, nil) }
            defer {
                state.recorder = nil
                state.missed = state.unconfirmed.map { $0.missed + $0.since } ?? 0
                state.unconfirmed = nil
                state.nextTry = Clocks.monotonicSeconds() + Self.retryInterval
                if case .diskFull = error { state.stoppedByFullDisk = true } else { state.stoppedByFullDisk = false }
            }
            return (true, state.unconfirmed?.missed)
        }
        guard current else { return }
        if retried == nil {
            logger.error("the history stopped: \(error); live clients are still served, and a new recording is tried every \(Int(Self.retryInterval)) s")
        } else {
            logger.debug("a new recording failed at its first commit: \(error)")
        }
        try? recorder.finish(reason: "error")
    }

    /// A new recording's first commit went through: it records again.
    private func confirm() {
        guard let missed = state.withLock({ state in defer { state.unconfirmed = nil }; return state.unconfirmed?.missed }) else { return }
        logger.notice("the history records again (\(missed) events went unrecorded)")
    }

    private func restartIfDue() {
        let (due, fullDisk) = state.withLock { state -> (Bool, Bool) in
            guard state.missed != nil, Clocks.monotonicSeconds() >= state.nextTry else { return (false, false) }
            state.nextTry = Clocks.monotonicSeconds() + Self.retryInterval
            return (true, state.stoppedByFullDisk)
        }
        // Still full: no recording is opened (it would write into the dead commit's room);
        // the events go on being counted for the `lost` report of the one that starts.
        guard due, !fullDisk || Self.freeBytes(near: path).map({ $0 >= Self.resumeHeadroomBytes }) ?? true,
              let recorder = try? Recorder(path: path, session: session) else { return }
        let missed = state.withLock { state -> Int in
            defer {
                state.recorder = recorder
                state.unconfirmed = (state.missed ?? 0, 0)
                state.missed = nil
            }
            return state.missed ?? 0
        }
        recorder.record(EnrichedEvent(event: ProcessEvent(detail: .lost(count: missed, reason: .restart, cpu: nil), timestamp: .now)))
    }

    /// The bytes an unprivileged writer may still use on the file system holding `path`'s
    /// directory (`statvfs`'s `f_bavail`). Not `f_bfree`: the unit gives the daemon
    /// CAP_SYS_RESOURCE, which lets it write into ext4's root reserve, but a history that
    /// filled the disk should not come back by eating the reserve the administrator needs
    /// to clean up. nil when it cannot be read (the first commit decides then).
    static func freeBytes(near path: String) -> Int64? {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
