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
        /// Under ``Backend/auto``, whether the scanner stands in when the kernel refuses every
        /// source from the namespace procwatch is in. False where something better stands by
        /// — the front ends' `procwatch daemon`, whose socket is there and which sees the
        /// whole host with every command line — so that the refusal reaches the caller.
        public var standsInUnderAuto: Bool

        /// Creates the settings.
        public init(interval: Duration = .milliseconds(10), reapsOrphans: Bool = false, wantsNamespacePIDs: Bool = false,
                    maximumExitDescriptors: Int = 256, standsInUnderAuto: Bool = true) {
            self.interval = interval
            self.reapsOrphans = reapsOrphans
            self.wantsNamespacePIDs = wantsNamespacePIDs
            self.maximumExitDescriptors = maximumExitDescriptors
            self.standsInUnderAuto = standsInUnderAuto
        }

        /// The interval in whole milliseconds, for the source line.
        var intervalMilliseconds: Int64 {
            interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000
        }
    }
}
