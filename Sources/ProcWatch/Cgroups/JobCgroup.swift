#if canImport(Glibc)
import Glibc
#endif

/// A cgroup of a job's own — one directory in each hierarchy that has a controller it uses —
/// with limits the kernel enforces and accounting it keeps for the whole tree.
///
/// It is made under this process's current cgroup in each hierarchy, not under the
/// hierarchy's root: the job then stays inside whatever limits hold procwatch itself (a
/// container's or a service's), and a cgroup tree delegated to a user is enough. Where
/// that directory is not writable, creation fails with ``CgroupError/permissionDenied(path:)``.
public struct JobCgroup: Sendable {
    /// The name of each of its directories: `procwatch-run-PID` for `run`'s command,
    /// `procwatch-jobs-PID-GROUP` for a `jobs` group, PID being procwatch's (so a later
    /// procwatch can tell one whose procwatch died: ``removeStale(layout:)``).
    public let name: String
    /// Each controller the job has, and its directory.
    public let places: [CgroupController: CgroupLayout.Place]
    /// The limits set.
    public let limits: CgroupLimits

    /// The prefix of every `run` cgroup's name.
    public static let namePrefix = "procwatch-run-"
    /// The prefix of every `jobs` group cgroup's name.
    public static let groupNamePrefix = "procwatch-jobs-"

    /// The name of a `jobs` group's cgroup: `procwatch-jobs-PID-GROUP`, the group's name
    /// with every byte but letters, digits, `.`, `_` and `-` written as `_` (a cgroup name is
    /// a directory name: no `/`, and nothing a shell or a path would misread), cut to 200
    /// bytes (a directory name takes 255).
    public static func groupName(owner: Int32 = getpid(), group: String) -> String {
        let safe = group.utf8.prefix(200).map { byte -> Character in
            let character = Character(Unicode.Scalar(byte))
            return byte < 0x80 && (character.isLetter || character.isNumber || "._-".contains(character)) ? character : "_"
        }
        return groupNamePrefix + "\(owner)-" + String(safe)
    }

    /// The distinct directories (controllers co-mounted in one v1 hierarchy share one).
    public var directories: [String] { Array(Set(places.values.map(\.directory))).sorted() }

    /// Creates `run`'s cgroup under `layout`'s directories (named for `owner`) and sets `limits`.
    /// A cgroup of the same name left by an earlier process with this pid is removed first.
    /// On failure nothing is left behind.
    public static func create(layout: CgroupLayout, limits: CgroupLimits, owner: Int32 = getpid()) throws(CgroupError) -> JobCgroup {
        try create(layout: layout, limits: limits, name: namePrefix + "\(owner)")
    }

    /// Creates the cgroup `name` under `layout`'s directories and sets `limits` (see
    /// ``create(layout:limits:owner:)``; ``groupName(owner:group:)`` names a `jobs` group's).
    public static func create(layout: CgroupLayout, limits: CgroupLimits, name: String) throws(CgroupError) -> JobCgroup {
        if limits.maxProcesses != nil, layout.places[.pids] == nil { throw .noController(.pids) }
        if limits.maxMemoryBytes != nil, layout.places[.memory] == nil { throw .noController(.memory) }
        var places: [CgroupController: CgroupLayout.Place] = [:]
        var created: [String] = []
        do throws(CgroupError) {
            for (controller, place) in layout.places.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                if place.version == .v2, let v2Name = controller.v2Name {
                    // v2 gives a child a controller only once its parent enables it.
                    do throws(CgroupError) { try CgroupFiles.write(place.directory + "/cgroup.subtree_control", "+" + v2Name) } catch {
                        // Accounting alone does without (I/O); a limit does not.
                        if controller == .io { continue }
                        throw error
                    }
                }
                let directory = place.directory + "/" + name
                if !created.contains(directory) {
                    if access(directory, F_OK) == 0 { try remove(directory: directory, evicting: owner(ofCgroupNamed: name)?.eviction ?? .kill) }
                    try CgroupFiles.makeDirectory(directory)
                    created.append(directory)
                }
                places[controller] = CgroupLayout.Place(version: place.version, directory: directory)
            }
            let cgroup = JobCgroup(name: name, places: places, limits: limits)
            try cgroup.applyLimits()
            return cgroup
        } catch {
            for directory in created { try? remove(directory: directory, evicting: .kill) }  // made now: empty
            throw error
        }
    }

    private func applyLimits() throws(CgroupError) {
        func set(_ controller: CgroupController, v1 v1File: String, v2 v2File: String, _ value: String) throws(CgroupError) {
            guard let place = places[controller] else { throw .noController(controller) }
            let path = place.directory + "/" + (place.version == .v1 ? v1File : v2File)
            do throws(CgroupError) { try CgroupFiles.write(path, value) } catch {
                if case .system(_, _, let code) = error { throw .limitNotAccepted(path: path, value: value, errno: code) }
                throw error
            }
        }
        if let maxProcesses = limits.maxProcesses {
            try set(.pids, v1: "pids.max", v2: "pids.max", "\(maxProcesses)")
        }
        if let maxMemoryBytes = limits.maxMemoryBytes {
            try set(.memory, v1: "memory.limit_in_bytes", v2: "memory.max", "\(maxMemoryBytes)")
        }
    }

    /// Moves process `pid` into the job's cgroup in every hierarchy (its later children are
    /// born there). Move it before it runs the command, so none of its forks escapes.
    public func add(_ pid: Int32) throws(CgroupError) {
        for directory in directories { try CgroupFiles.write(directory + "/cgroup.procs", "\(pid)") }
    }

    /// The cgroup's accounting as it stands.
    public func usage() -> CgroupUsage {
        var usage = CgroupUsage()
        func file(_ controller: CgroupController, _ name: String) -> String? {
            places[controller].flatMap { CgroupFiles.text($0.directory + "/" + name) }
        }
        usage.refusedForks = CgroupUsage.value(of: "max", in: file(.pids, "pids.events"))
        switch places[.memory]?.version {
        case .v1:
            usage.peakMemoryBytes = CgroupUsage.number(file(.memory, "memory.max_usage_in_bytes"))
            usage.memoryLimitHits = CgroupUsage.number(file(.memory, "memory.failcnt"))
            usage.oomKills = CgroupUsage.value(of: "oom_kill", in: file(.memory, "memory.oom_control"))
        case .v2:
            usage.peakMemoryBytes = CgroupUsage.number(file(.memory, "memory.peak"))
            let events = file(.memory, "memory.events")
            usage.memoryLimitHits = CgroupUsage.value(of: "max", in: events)
            usage.oomKills = CgroupUsage.value(of: "oom_kill", in: events)
        case nil: break
        }
        switch places[.cpu]?.version {
        case .v1:
            usage.userNanoseconds = CgroupUsage.number(file(.cpu, "cpuacct.usage_user"))
            usage.systemNanoseconds = CgroupUsage.number(file(.cpu, "cpuacct.usage_sys"))
            usage.totalNanoseconds = CgroupUsage.number(file(.cpu, "cpuacct.usage"))
        case .v2:
            let stat = file(.cpu, "cpu.stat")
            usage.userNanoseconds = CgroupUsage.value(of: "user_usec", in: stat).map { $0 * 1000 }
            usage.systemNanoseconds = CgroupUsage.value(of: "system_usec", in: stat).map { $0 * 1000 }
            usage.totalNanoseconds = CgroupUsage.value(of: "usage_usec", in: stat).map { $0 * 1000 }
        case nil: break
        }
        var io: (read: UInt64, write: UInt64)?
        switch places[.io] {
        case let place? where place.version == .v1:
            let counted = CgroupUsage.blkioDevices(Self.v1HierarchyRoot(of: place.directory, controller: .io)
                .flatMap { CgroupFiles.text($0 + "/blkio.throttle.io_service_bytes") })
            usage.ioCountedDevices = counted
            if !counted.isEmpty { io = CgroupUsage.blkioBytes(file(.io, "blkio.throttle.io_service_bytes")) }
        case .some:
            io = CgroupUsage.ioStatBytes(file(.io, "io.stat"))
        case nil: break
        }
        usage.readBytes = io?.read
        usage.writeBytes = io?.write
        return usage
    }

    /// The mount point of the v1 hierarchy of `controller` that holds `directory`.
    static func v1HierarchyRoot(of directory: String, controller: CgroupController) -> String? {
        CgroupLayout.mounts(in: CgroupFiles.text("/proc/self/mountinfo") ?? "")
            .filter { !$0.isV2 && $0.controllers.contains(controller.v1Name) && (directory == $0.mountPoint || directory.hasPrefix($0.mountPoint + "/")) }
            .max { $0.mountPoint.count < $1.mountPoint.count }?.mountPoint
    }

    /// Sends SIGKILL to every process in the cgroup now (v2: `cgroup.kill`), without waiting
    /// or removing it: the tree ends, its accounting stays readable. ``remove()`` finishes off
    /// any member forked meanwhile.
    public func killMembers() {
        for directory in directories {
            if access(directory + "/cgroup.kill", F_OK) == 0, (try? CgroupFiles.write(directory + "/cgroup.kill", "1")) != nil { continue }
            for pid in CgroupFiles.processes(in: directory) { kill(pid, SIGKILL) }
        }
    }

    /// Kills every process still in the cgroup, waits until it is empty, and removes its
    /// directories (child cgroups the job made first).
    public func remove() throws(CgroupError) { try remove(evicting: .kill) }

    /// Moves every process still in the cgroup back to the cgroup it was made under (this
    /// process's, when it was made) without harming it, and removes its directories: for
    /// processes procwatch watches but does not own (`jobs`).
    public func release() throws(CgroupError) { try remove(evicting: .moveToParent) }

    private func remove(evicting eviction: Eviction) throws(CgroupError) {
        var failure: CgroupError?
        for directory in directories {
            do throws(CgroupError) { try Self.remove(directory: directory, evicting: eviction) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Removes the cgroups whose procwatch is gone (it was SIGKILLed and could not clean up)
    /// from this process's cgroup in each hierarchy; returns their paths. What is still in a
    /// `procwatch-run-PID` is killed (the command's tree was procwatch's); what is still in a
    /// `procwatch-jobs-PID-GROUP` is moved to the parent cgroup (`jobs` only watched it).
    /// A PID reused by an unrelated process keeps its cgroups until that process is gone too.
    @discardableResult
    public static func removeStale(layout: CgroupLayout) -> [String] {
        var removed: [String] = []
        for parent in Set(layout.places.values.map(\.directory)).sorted() {
            for name in CgroupFiles.subdirectories(of: parent) {
                guard let (pid, eviction) = owner(ofCgroupNamed: name), kill(pid, 0) != 0, errno == ESRCH else { continue }
                let directory = parent + "/" + name
                if (try? remove(directory: directory, evicting: eviction)) != nil { removed.append(directory) }
            }
        }
        return removed
    }

    /// The procwatch pid a cgroup name of ours carries, and what becomes of its members.
    static func owner(ofCgroupNamed name: String) -> (pid: Int32, eviction: Eviction)? {
        if name.hasPrefix(namePrefix), let pid = Int32(name.dropFirst(namePrefix.count)) { return (pid, .kill) }
        guard name.hasPrefix(groupNamePrefix) else { return nil }
        let rest = name.dropFirst(groupNamePrefix.count)
        guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]) else { return nil }
        return (pid, .moveToParent)
    }

    /// What becomes of the processes still in a cgroup being removed.
    enum Eviction {
        /// SIGKILL (v2: `cgroup.kill`): they were procwatch's (`run`).
        case kill
        /// Written to the parent cgroup's `cgroup.procs`: they were only watched (`jobs`).
        case moveToParent
    }

    /// Empties one cgroup directory (and its children, deepest first) and removes it. Kill:
    /// v2's `cgroup.kill` where there is one, else SIGKILL to each pid in `cgroup.procs`;
    /// move: each pid written to the parent's `cgroup.procs`. Either until none is left (a
    /// member may fork while the list is read).
    static func remove(directory: String, evicting eviction: Eviction) throws(CgroupError) {
        for child in CgroupFiles.subdirectories(of: directory) { try remove(directory: directory + "/" + child, evicting: eviction) }
        if eviction == .kill, access(directory + "/cgroup.kill", F_OK) == 0 { try? CgroupFiles.write(directory + "/cgroup.kill", "1") }
        let parent = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = deadline.tv_sec + 10
        while true {
            let members = CgroupFiles.processes(in: directory)
            if members.isEmpty {
                if rmdir(directory) == 0 || errno == ENOENT { return }
                // EBUSY: a killed member has not finished exiting; anything else will not pass.
                guard errno == EBUSY else { throw CgroupFiles.failure("rmdir", directory, errno) }
            }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            guard now.tv_sec < end else {
                if members.isEmpty { throw CgroupFiles.failure("rmdir", directory, errno) }
                throw .notEmptied(path: directory, remaining: members.count, killed: eviction == .kill)
            }
            for pid in members {
                switch eviction {
                case .kill: kill(pid, SIGKILL)
                // A member that exits meanwhile (ESRCH) leaves by itself.
                case .moveToParent: try? CgroupFiles.write(parent + "/cgroup.procs", "\(pid)")
                }
            }
            // A killed member leaves the cgroup once its exit is through; rmdir of a cgroup
            // still populated fails with EBUSY meanwhile.
            usleep(2_000)
        }
    }
}
