import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Rule-defined groups backed by the kernel: each group of a ``JobGroups`` has a
/// ``JobCgroup`` of its own (`procwatch-jobs-PID-GROUP`), with optional limits, and a process
/// a rule claims is moved into its group's cgroup at the claim; its later children are born
/// there, so the kernel keeps the limits and the accounting for them.
///
/// The move follows the claim's event, it does not precede it: what a claimed process forks
/// between its exec and the move (a window as long as the event takes to reach procwatch)
/// stays in the cgroup it was born in, and so do the descendants a process had before it
/// was claimed (a `pid:` root's at the start). ``JobGroups`` still counts them by its rules;
/// the cgroup's figures leave them out. Memory the moved process held before the move stays
/// charged where it was (cgroup v1's `memory.move_charge_at_immigrate` is left off).
///
/// `jobs` watches processes it does not own: ``release()`` moves what is still in a group's
/// cgroup back to the cgroup it was made under (procwatch's) instead of killing it.
public final class JobGroupCgroups: Sendable {
    /// Each group's cgroup, by group name.
    public let cgroups: [String: JobCgroup]
    /// Whether ``release()`` has run: a claim after it moves nothing (the cgroups are gone).
    private let released = Mutex(false)

    /// Creates a cgroup for each of `groups` (names; a name given twice gets one) under
    /// `layout`'s directories, named for `owner`, each with `limits`. On failure, none is left.
    public init(groups: [String], layout: CgroupLayout, limits: CgroupLimits, owner: Int32 = getpid()) throws(CgroupError) {
        var made: [String: JobCgroup] = [:]
        do throws(CgroupError) {
            for group in groups where made[group] == nil {
                made[group] = try JobCgroup.create(layout: layout, limits: limits, name: JobCgroup.groupName(owner: owner, group: group))
            }
        } catch {
            // Just made: nothing was moved in yet.
            for cgroup in made.values { try? cgroup.release() }
            throw error
        }
        cgroups = made
    }

    /// Moves each process `groups` claims into its group's cgroup; a move the kernel refuses
    /// for another reason than the process having exited goes to `failed`.
    public func follow(_ groups: JobGroups, failed: @escaping @Sendable (CgroupError) -> Void) {
        groups.onClaim { [self] group, pid in
            do throws(CgroupError) { try move(pid, into: group) } catch { failed(error) }
        }
    }

    /// Moves process `pid` (all its threads) into `group`'s cgroup in every hierarchy. A
    /// process that has exited meanwhile is no error; after ``release()`` nothing is moved.
    public func move(_ pid: Int32, into group: String) throws(CgroupError) {
        guard let cgroup = cgroups[group] else { return }
        // Under the lock: a move racing the release would put a process into a cgroup
        // about to be removed, or fail on one already gone.
        try released.withLock { isReleased throws(CgroupError) in
            guard !isReleased else { return }
            do throws(CgroupError) { try cgroup.add(pid) } catch {
                if case .system(_, _, ESRCH) = error { return }
                throw error
            }
        }
    }

    /// A group's cgroup accounting as it stands (nil: no such group, or released).
    public func usage(of group: String) -> CgroupUsage? {
        released.withLock { $0 ? nil : cgroups[group]?.usage() }
    }

    /// Moves every process still in a group's cgroup back to the cgroup it was made under
    /// and removes the cgroups; returns the failures, one per cgroup that could not go.
    @discardableResult
    public func release() -> [CgroupError] {
        released.withLock { isReleased in
            guard !isReleased else { return [] }
            isReleased = true
            var failures: [CgroupError] = []
            for group in cgroups.keys.sorted() {
                do throws(CgroupError) { try cgroups[group]?.release() } catch { failures.append(error) }
            }
            return failures
        }
    }
}
