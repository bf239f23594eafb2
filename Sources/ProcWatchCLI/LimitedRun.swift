import ProcWatch
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch run --max-processes/--max-memory`: the command's tree in a cgroup of its own,
/// set up before the command runs and removed on every way out.
enum LimitedRun {
    /// Removes cgroups left by a procwatch that was SIGKILLed (saying so), then creates this
    /// run's, named for this process.
    static func create(_ limits: CgroupLimits) throws(CgroupError) -> JobCgroup {
        let layout = CgroupLayout.current()
        removeStale(layout, command: "run")
        return try JobCgroup.create(layout: layout, limits: limits)
    }

    /// Removes the cgroups (`run`'s and `jobs`') of procwatches that are gone, saying so as
    /// `procwatch: COMMAND: removed PATH, …`.
    static func removeStale(_ layout: CgroupLayout, command: String) {
        for stale in JobCgroup.removeStale(layout: layout) {
            FileHandleOutput.standardError("procwatch: \(command): removed \(stale), left by a procwatch that is gone")
        }
    }

    /// Starts the command inside `cgroup`: forked held, moved into the cgroup, then let exec,
    /// so even its first fork is limited. Without a cgroup, a plain spawn.
    static func spawn(_ arguments: [String], in cgroup: JobCgroup?) throws -> Int32 {
        guard let cgroup else { return try CommandSpawner.spawn(arguments) }
        let held = try HeldCommand(arguments)
        do { try cgroup.add(held.pid) } catch {
            RunCommand.reapUnrun(held)
            throw error
        }
        do { try held.release() } catch {
            // exec failed: the child exits 127.
            var status: Int32 = 0
            while waitpid(held.pid, &status, 0) == -1, errno == EINTR {}
            throw error
        }
        return held.pid
    }

    /// Removes the cgroup (killing what the command left running), saying why when it cannot.
    static func remove(_ cgroup: JobCgroup) {
        do { try cgroup.remove() } catch { FileHandleOutput.standardError("procwatch: run: \(error)") }
    }

    /// SIGTERM while the command runs ends its whole tree (the cgroup's members, SIGKILL), so
    /// that procwatch can report and remove the cgroup; SIGINT stays the command's (Ctrl-C
    /// reaches it from the terminal). The signal has come once the returned stop has fired;
    /// cancel the source after the run.
    static func endTreeOnTermination(_ cgroup: JobCgroup) -> (stop: StopSignal, source: DispatchSourceRead?) {
        let stop = StopSignal()
        let source = TerminationSignals.watch(stop)
        // TerminationSignals handles SIGINT too; like time(1), procwatch run ignores it.
        signal(SIGINT, SIG_IGN)
        stop.onFire { cgroup.killMembers() }
        return (stop, source)
    }
}
