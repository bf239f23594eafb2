#if canImport(Glibc)
import Glibc
#endif
import CProcWatch

/// The kernel-side (eBPF) watchers, loaded and attached: the BPF object compiled into this
/// binary (`bpf/procwatch.bpf.c`), one link per attached program, and the maps the reader
/// uses. Everything here is a file descriptor owned by this process, so the kernel detaches
/// the programs and frees the maps whenever it ends, however it ends (SIGKILL included);
/// ``close()`` does the same earlier.
///
/// Used by one session: opened by the subscribing thread, then owned by the reader thread.
final class KernelWatchers: @unchecked Sendable {
    // @unchecked: the handles are written in `open` only; `close()` runs once, on the
    // reader thread, after its last use of them.

    /// The programs, each with the event kinds it reports and, for an optional one, what it
    /// is: the other programs load without it on a kernel that refuses it (the failed-exec
    /// programs; the exec's uid/gid program, on kernels before 6.10, which lack
    /// `sched_prepare_exec`), and its kinds are then missing.
    static let programs: [(name: String, kinds: ProcessEventKinds, optional: String?)] = [
        ("procwatch_fork", .fork, nil),
        ("procwatch_exec", .exec, nil),
        ("procwatch_exit", [.exit, .failedExit], nil),
        ("procwatch_comm", .comm, nil),
        ("procwatch_coredump", .coredump, nil),
        ("procwatch_sid", .sid, nil),
        ("procwatch_ptrace_enter", .ptrace, nil),
        ("procwatch_ptrace_exit", .ptrace, nil),
        ("procwatch_prepare_exec", [.uid, .gid], "the exec uid/gid program"),
        ("procwatch_execve_exit", EventKind.execFailed.bit, "the failed-exec programs"),
        ("procwatch_execveat_exit", EventKind.execFailed.bit, "the failed-exec programs"),
    ] + ["setuid", "setreuid", "setresuid", "setfsuid", "setgid", "setregid", "setresgid", "setfsgid"].flatMap {
        call -> [(name: String, kinds: ProcessEventKinds, optional: String?)] in
        [("procwatch_enter_\(call)", [.uid, .gid], nil), ("procwatch_exit_\(call)", [.uid, .gid], nil)]
    }

    /// The optional programs' groups, in the order they are given up when loading fails.
    static let optionalGroups: [String] = programs.reduce(into: []) { groups, program in
        if let group = program.optional, !groups.contains(group) { groups.append(group) }
    }

    let libbpf: LibBPF
    private let object: OpaquePointer
    private var links: [OpaquePointer] = []
    let eventsFD: Int32
    private let configFD: Int32
    private let trackedFD: Int32
    private let lostFD: Int32
    private let cpuCount: Int
    /// Kinds whose programs did not load or attach, each with why.
    private(set) var missing: [(kinds: ProcessEventKinds, reason: String)] = []

    /// Loads and attaches the watchers.
    ///
    /// - Parameters:
    ///   - ringBufferBytes: the ring buffer's size (a power of two, at least a page).
    ///   - refusedKinds: tests: the programs reporting any of these kinds are not attached,
    ///     as when they fail to attach.
    /// - Throws: ``ProcWatchError/kernelWatchersUnavailable(reason:)`` saying why (no libbpf,
    ///   no privilege, a kernel without BTF …); nothing stays loaded then.
    init(ringBufferBytes: Int, refusing refusedKinds: ProcessEventKinds = []) throws(ProcWatchError) {
        let libbpf = try LibBPF.load()
        self.libbpf = libbpf
        let functions = libbpf.table
        // Loading fails as a whole when one program is refused: the optional groups are given
        // up one after the other until the rest loads.
        var givenUp: [String] = []
        var loaded: OpaquePointer?
        var loadErrno: Int32 = 0
        while loaded == nil {
            let object = try Self.open(libbpf, ringBufferBytes: ringBufferBytes)
            for program in Self.programs {
                guard let group = program.optional, givenUp.contains(group),
                      let handle = Self.program(named: program.name, in: object, libbpf) else { continue }
                _ = functions.program_set_autoload(handle, false)
            }
            if functions.object_load(object) == 0 {
                loaded = object
                break
            }
            loadErrno = errno
            functions.object_close(object)
            guard loadErrno != EPERM, loadErrno != EACCES, givenUp.count < Self.optionalGroups.count else {
                throw .kernelWatchersUnavailable(reason: Self.explain("loading the BPF programs", errno: loadErrno))
            }
            givenUp.append(Self.optionalGroups[givenUp.count])
        }
        let handle = loaded!
        object = handle
        for group in givenUp {
            let kinds = Self.programs.filter { $0.optional == group }.reduce(ProcessEventKinds()) { $0.union($1.kinds) }
            missing.append((kinds, Self.explain("loading \(group)", errno: loadErrno)))
        }
        func fd(_ name: String) -> Int32 {
            guard let map = functions.object_find_map_by_name(handle, name) else { return -1 }
            return functions.map_fd(map)
        }
        eventsFD = fd("procwatch_events")
        configFD = fd("procwatch_config")
        trackedFD = fd("procwatch_tracked")
        lostFD = fd("procwatch_lost")
        cpuCount = Int(max(1, functions.num_possible_cpus()))
        guard eventsFD >= 0, configFD >= 0, trackedFD >= 0, lostFD >= 0 else {
            functions.object_close(handle)
            throw .kernelWatchersUnavailable(reason: "the BPF object lacks its maps")
        }
        // Nothing is reported until the first configuration says what is wanted.
        configure(procwatch_bpf_config())
        var failedKinds = ProcessEventKinds()
        var reasons: [String] = []
        // The syscall tracepoints are attached through their ids in tracefs.
        TraceFS.mountIfMissing()
        for program in Self.programs {
            guard let programHandle = Self.program(named: program.name, in: handle, libbpf) else { continue }
            if let group = program.optional, givenUp.contains(group) { continue }
            if !program.kinds.isDisjoint(with: refusedKinds) {
                failedKinds.formUnion(program.kinds)
                reasons.append("attaching \(program.name) was refused (test switch)")
                continue
            }
            if let link = functions.program_attach(programHandle) {
                links.append(link)
            } else {
                let failure = errno
                failedKinds.formUnion(program.kinds)
                reasons.append(Self.explain("attaching \(program.name)", errno: failure)
                               + (failure == ENOENT ? TraceFS.explanation.map { ": " + $0 } ?? "" : ""))
            }
        }
        if !failedKinds.isEmpty { missing.append((failedKinds, reasons.joined(separator: "; "))) }
        if links.isEmpty {
            close()
            throw .kernelWatchersUnavailable(reason: reasons.first ?? "no BPF program attached")
        }
    }

    private static func open(_ libbpf: LibBPF, ringBufferBytes: Int) throws(ProcWatchError) -> OpaquePointer {
        let functions = libbpf.table
        var size = 0
        let bytes = procwatch_bpf_object(&size)
        guard let object = functions.object_open_mem(bytes, size, nil) else {
            throw .kernelWatchersUnavailable(reason: explain("opening the BPF object", errno: errno))
        }
        let cpus = UInt32(max(1, functions.num_possible_cpus()))
        if let ring = functions.object_find_map_by_name(object, "procwatch_events") {
            _ = functions.map_set_max_entries(ring, UInt32(ringBufferBytes))
        }
        if let scratch = functions.object_find_map_by_name(object, "procwatch_scratch") {
            _ = functions.map_set_max_entries(scratch, cpus)
        }
        return object
    }

    private static func program(named name: String, in object: OpaquePointer, _ libbpf: LibBPF) -> OpaquePointer? {
        var program = libbpf.table.object_next_program(object, nil)
        while let current = program {
            if let programName = libbpf.table.program_name(current), String(cString: programName) == name { return current }
            program = libbpf.table.object_next_program(object, current)
        }
        return nil
    }

    /// One line on why a step failed, naming the privilege when that is the cause.
    static func explain(_ step: String, errno code: Int32) -> String {
        let name = ExecFailure.name(ofErrno: code)
        switch code {
        case EPERM, EACCES:
            return "\(step) was refused (\(name)): run as root, or grant CAP_BPF and CAP_PERFMON"
        default:
            return "\(step) failed (\(name))"
        }
    }

    // MARK: Maps

    /// Writes what consumers want into the programs' configuration.
    func configure(_ config: procwatch_bpf_config) {
        var key: UInt32 = 0
        var value = config
        _ = libbpf.table.map_update_elem(configFD, &key, &value, 0)
    }

    /// Follows process `pid` (and, when the configuration says so, the children it forks).
    func track(_ pid: Int32) {
        var key = pid
        var one: UInt8 = 1
        _ = libbpf.table.map_update_elem(trackedFD, &key, &one, 0)
    }

    /// Whether process `pid` is followed.
    func isTracked(_ pid: Int32) -> Bool {
        var key = pid
        var value: UInt8 = 0
        return libbpf.table.map_lookup_elem(trackedFD, &key, &value) == 0
    }

    /// Stops following process `pid`.
    func untrack(_ pid: Int32) {
        var key = pid
        _ = libbpf.table.map_delete_elem(trackedFD, &key)
    }

    /// The kinds whose programs did not load or attach: the connector stands in for them, and
    /// the programs that did attach must not report them as well.
    var missingKinds: ProcessEventKinds { missing.reduce(ProcessEventKinds()) { $0.union($1.kinds) } }

    /// Records the programs could not put into the ring buffer since loading, all CPUs summed.
    func lostCount() -> UInt64 {
        var key: UInt32 = 0
        var values = [UInt64](repeating: 0, count: cpuCount)
        guard libbpf.table.map_lookup_elem(lostFD, &key, &values) == 0 else { return 0 }
        return values.reduce(0, &+)
    }

    /// Detaches every program and frees the object and its maps. Called once.
    func close() {
        for link in links { _ = libbpf.table.link_destroy(link) }
        links.removeAll()
        libbpf.table.object_close(object)
    }
}
