extension DaemonMetrics {
    /// Every metric the daemon exports: its name and its HELP text, in one table (the
    /// README's "Metrics" list is this one).
    enum Name: String, CaseIterable {
        case events = "procwatch_events_total"
        case lostEvents = "procwatch_lost_events_total"
        case processesStarted = "procwatch_processes_started_total"
        case processesFailed = "procwatch_processes_failed_total"
        case execFailed = "procwatch_exec_failed_total"
        case execs = "procwatch_execs_total"
        case clients = "procwatch_clients"
        case queueDepth = "procwatch_client_queue_depth"
        case recordingLag = "procwatch_recording_lag_seconds"
        case historyBytes = "procwatch_history_bytes"
        case refusedRequests = "procwatch_refused_requests_total"
        case sinkLag = "procwatch_sink_lag_seconds"
        case spooledBytes = "procwatch_sink_spooled_bytes"

        var help: String {
            switch self {
            case .events: "Events received from the kernel, by contract event name (lost reports excluded)."
            case .lostEvents: "Events missing from the stream, by reason (the counts of the lost reports)."
            case .processesStarted: "Processes created (forks of a process, not of a thread)."
            case .processesFailed: "Processes that exited with a non-zero status or were killed by a signal."
            case .execFailed: "Exec calls that failed (kernel-side source only)."
            case .execs: "Execs by program (base name of argv[0]): the first programs to recur, at most N, then other."
            case .clients: "Clients connected to the daemon's socket."
            case .queueDepth: "Events waiting in a connected client's queue."
            case .recordingLag: "Age of the oldest event not yet committed to the history; 0 when none waits."
            case .historyBytes: "Size of the history on disk in bytes."
            case .refusedRequests: "Client requests refused."
            case .sinkLag: "Age of the newest event written to the fleet store (sink) while events wait; 0 when none waits."
            case .spooledBytes: "Bytes of batches waiting for the fleet store (sink), in memory and in spool files."
            }
        }
    }
}
