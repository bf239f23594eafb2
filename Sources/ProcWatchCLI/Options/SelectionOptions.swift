import ArgumentParser
import ProcWatch
#if canImport(Glibc)
import Glibc
#endif

/// Which events and processes to watch: shared by the live view and `procwatch stats`.
package struct SelectionOptions: ParsableArguments {
    @Option(name: .customShort("e"), help: ArgumentHelp(
        "Events to show, comma-separated: fork, clone (threads), exec, exit, core, comm, ptrace, uid, gid, sid, execfail (failed execs: BPF source only), nonzeroexit, all. Example: -e exec,exit",
        valueName: "LIST"))
    package var events: String?

    @Flag(name: .customShort("E"), help: "All events: the same as -e all. Example: procwatch -E")
    package var allEvents = false

    // `.unconditional`: `--pid -3` is a bad value to name, not a missing one.
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Only this process (and the forks it makes). Example: --pid 1234", valueName: "PID"))
    package var pid: Int32?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "This process and every descendant: those it has already and those born during the run, daemons included. Example: --tree $$",
        valueName: "PID"))
    package var tree: Int32?

    @Option(name: .long, help: ArgumentHelp("Only processes whose name (comm or program) matches. Example: --comm '^make$'", valueName: "REGEX"))
    package var comm: String?

    @Option(name: .long, help: ArgumentHelp("Only processes of this user. Example: --user root or --user 1000", valueName: "NAME|UID"))
    package var user: String?

    @Option(name: .long, help: ArgumentHelp("Only processes whose cgroup path matches (the path the cgroup field shows). Example: --cgroup '^/system.slice/docker-'", valueName: "REGEX"))
    package var cgroup: String?

    @Option(name: .long, help: ArgumentHelp("Only processes of the container whose id starts with this (a Docker, containerd, CRI-O or Podman id, or a systemd-nspawn machine's name). Example: --container 3f2a9c1e", valueName: "ID"))
    package var container: String?

    @Flag(name: .customLong("include-self"), help: "Also show procwatch's own process (its threads' clone, comm and exit events), which is left out otherwise. Example: procwatch --include-self -e clone")
    package var includeSelf = false

    package init() {}

    package func validate() throws {
        if pid != nil, tree != nil { throw ValidationError("--pid and --tree cannot be combined: --tree already includes the process") }
        if events != nil, allEvents { throw ValidationError("-e and -E/-X both choose events: use one") }
        _ = try selection()
        // Whether --pid/--tree name a live process is checked when a live command starts
        // (`filter()`): `procwatch report` takes them for processes of a recording.
        _ = try filter(checkingProcesses: false)
    }

    /// The options given, as typed (`-e exec --comm make`), or nil when none was.
    package var described: String? {
        var parts: [String] = []
        if let events { parts.append("-e \(events)") }
        if allEvents { parts.append("-E") }
        if let pid { parts.append("--pid \(pid)") }
        if let tree { parts.append("--tree \(tree)") }
        if let comm { parts.append("--comm \(comm)") }
        if let user { parts.append("--user \(user)") }
        if let cgroup { parts.append("--cgroup \(cgroup)") }
        if let container { parts.append("--container \(container)") }
        if includeSelf { parts.append("--include-self") }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    package func selection() throws -> EventSelection {
        if allEvents { return .all }
        guard let events else { return .all }
        do { return try EventSelection(parsing: events) } catch { throw ValidationError(error.description) }
    }

    package func filter(checkingProcesses: Bool = true) throws -> LiveFilter {
        var filter = LiveFilter()
        for (flag, value) in [("--pid", pid), ("--tree", tree)] {
            guard let value, checkingProcesses else { continue }
            guard value > 0, kill(value, 0) == 0 || errno == EPERM else {
                throw ValidationError("\(flag) \(value): no such process")
            }
        }
        filter.pid = pid
        filter.excludedPID = includeSelf ? nil : getpid()
        filter.tree = tree.map { ProcessTree(root: $0, includingLiveDescendants: true) }
        if let comm {
            do { filter.comm = try Regex(comm) } catch {
                throw ValidationError("--comm '\(comm)' is not a valid regular expression: \(error)")
            }
        }
        if let user {
            guard let uid = AccountNames.uid(of: user) else { throw ValidationError("--user \(user): no such user") }
            filter.uid = uid
        }
        if let cgroup {
            do { filter.cgroup = try Regex(cgroup) } catch {
                throw ValidationError("--cgroup '\(cgroup)' is not a valid regular expression: \(error)")
            }
        }
        if let container {
            guard !container.isEmpty else { throw ValidationError("--container takes at least one character of a container id") }
            filter.containerPrefix = container
        }
        return filter
    }

}
