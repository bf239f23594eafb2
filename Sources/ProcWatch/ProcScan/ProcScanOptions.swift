extension ProcessEventSource {
    /// Settings of the /proc scanner (``Backend/procfs``, and ``Backend/auto`` where no
    /// kernel source works).
    public struct ProcScanOptions: Sendable, Hashable {
        /// How often /proc is scanned (besides at once when a watched process exits): a
        /// process that lives shorter may be missed, and is then counted as lost.
        public var interval: Duration
        /// Become the child subreaper (`PR_SET_CHILD_SUBREAPER`): orphans of descendants
        /// come back to this process, which reaps them once their exit status is read
        /// (`procwatch run`).
        public var reapsOrphans: Bool
        /// Under ``Backend/auto`` in a pid namespace of its own: scan /proc rather than read
        /// the kernel's events, whose pids are the initial namespace's (`procwatch run`
        /// follows its command by the pid it spawned).
        public var wantsNamespacePIDs: Bool
        /// At most this many processes get an exit descriptor (a pidfd) at a time.
        public var maximumExitDescriptors: Int

        /// Creates the settings.
        public init(interval: Duration = .milliseconds(10), reapsOrphans: Bool = false, wantsNamespacePIDs: Bool = false,
                    maximumExitDescriptors: Int = 256) {
            self.interval = interval
            self.reapsOrphans = reapsOrphans
            self.wantsNamespacePIDs = wantsNamespacePIDs
            self.maximumExitDescriptors = maximumExitDescriptors
        }

        /// The interval in whole milliseconds, for the source line.
        var intervalMilliseconds: Int64 {
            interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000
        }
    }
}
