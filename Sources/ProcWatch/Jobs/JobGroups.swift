import Synchronization

/// Groups of processes defined by rules or by a root process, kept current from the event stream.
///
/// A process joins the group of its parent at fork (threads and processes alike) and
/// stays in it when re-parented. When it execs (or renames itself, or changes its uid) into
/// something a rule claims, it moves to that rule's group: the most specific claim — the
/// nearest one up its ancestry — wins. Among rules that match at once, the first listed wins.
public final class JobGroups: @unchecked Sendable {
    // @unchecked: Regex is not Sendable; all state is behind `state`, rules are immutable.

    /// What a rule matches.
    public enum Matcher: Sendable {
        /// The process name (comm) or program name (argv[0] without its directory), by regex.
        case name(String)
        /// The executable's path, exactly.
        case executable(String)
        /// The real user id.
        case uid(UInt32)
        /// One existing process (and, by inheritance, everything it starts).
        case process(Int32)
    }

    /// A group's counts.
    public struct Summary: Sendable, Hashable {
        /// The group's name.
        public var name: String
        /// Members alive now.
        public var live: Int
        /// Processes that joined since the start (by claim or by birth).
        public var started: Int
        /// Members that exited with a non-zero status.
        public var failed: Int
        /// The most members alive at once.
        public var peak: Int
        /// What the kernel accounted for the members' exited threads and processes (from
        /// taskstats exit records): CPU and I/O summed, the largest peak RSS.
        public var usage = ResourceUsage()
        /// Threads the members created.
        public var threads = 0
        /// Kernel times of the first join and the last exit (CLOCK_MONOTONIC nanoseconds).
        public var firstJoin: UInt64?
        public var lastExit: UInt64?

        /// Wall time from the first member's arrival to the last one's exit, once empty.
        public var wallSeconds: Double? {
            guard live == 0, let first = firstJoin, let last = lastExit, last >= first else { return nil }
            return Double(last - first) / 1e9
        }
    }

    private struct Rule {
        var name: String
        var matcher: Matcher
        var regex: Regex<AnyRegexOutput>?
    }

    private struct State {
        var group: [Int32: Int] = [:]
        var parent: [Int32: Int32] = [:]
        var threadOwner: [Int32: Int32] = [:]
        /// Exit records of a member's threads, until the member's own exit hands them on.
        var records: [Int32: [TaskstatsRecord]] = [:]
        var summaries: [Summary]
        var members: [Set<Int32>]
    }

    private let rules: [Rule]
    private let state: Mutex<State>
    private let handlers = Mutex<(joined: [@Sendable (String, Int32) -> Void], exited: [@Sendable (String, Int32, ExitStatus, [TaskstatsRecord]) -> Void],
                                  empty: [@Sendable (String) -> Void], claimed: [@Sendable (String, Int32) -> Void])>(([], [], [], []))

    /// Creates groups from `(name, matcher)` rules; throws the message of an invalid regex.
    public init(rules: [(name: String, matcher: Matcher)]) throws {
        self.rules = try rules.map { rule in
            if case .name(let pattern) = rule.matcher {
                return Rule(name: rule.name, matcher: rule.matcher, regex: try Regex(pattern))
            }
            return Rule(name: rule.name, matcher: rule.matcher, regex: nil)
        }
        var initial = State(
            summaries: rules.map { Summary(name: $0.name, live: 0, started: 0, failed: 0, peak: 0) },
            members: Array(repeating: [], count: rules.count))
        // Root processes belong to their group from the start.
        for (index, rule) in rules.enumerated() {
            guard case .process(let pid) = rule.matcher else { continue }
            initial.group[pid] = index
            initial.members[index].insert(pid)
            initial.summaries[index].started = 1
            initial.summaries[index].live = 1
            initial.summaries[index].peak = 1
        }
        state = Mutex(initial)
    }

    /// Calls `handler(group, pid)` when a process joins a group.
    public func onJoin(_ handler: @escaping @Sendable (String, Int32) -> Void) { handlers.withLock { $0.joined.append(handler) } }
    /// Calls `handler(group, pid, status, records)` when a member exits, with its threads'
    /// taskstats exit records (its accounting; empty without the privilege for taskstats).
    public func onExit(_ handler: @escaping @Sendable (String, Int32, ExitStatus, [TaskstatsRecord]) -> Void) {
        handlers.withLock { $0.exited.append(handler) }
    }
    /// Calls `handler(group, pid)` when a rule claims a process for its group: at its exec,
    /// comm or uid change into something the rule matches (again too: it may be in the group
    /// already), and, at ``adopt(_:at:)``, for a running process the rule matches itself or
    /// names as its `pid:` root — not for a process that joins by inheritance (its parent's
    /// group at fork, or a claimed ancestor's at adoption). Called after the join handlers.
    public func onClaim(_ handler: @escaping @Sendable (String, Int32) -> Void) { handlers.withLock { $0.claimed.append(handler) } }
    /// Calls `handler(group)` when a group's last member exits (the job is over).
    public func onEmpty(_ handler: @escaping @Sendable (String) -> Void) { handlers.withLock { $0.empty.append(handler) } }

    /// The groups' counts now, in rule order.
    public var summaries: [Summary] { state.withLock { $0.summaries } }

    /// The live members of a group.
    public func members(of name: String) -> Set<Int32> {
        state.withLock { state in
            guard let index = rules.firstIndex(where: { $0.name == name }) else { return [] }
            return state.members[index]
        }
    }

    /// A group's live members with the parent each was forked by (its tree, as edges).
    public func tree(of name: String) -> [(pid: Int32, parent: Int32)] {
        state.withLock { state in
            guard let index = rules.firstIndex(where: { $0.name == name }) else { return [] }
            return state.members[index].sorted().map { ($0, state.parent[$0] ?? 0) }
        }
    }

    /// CPU so far of a group's live members (microseconds), asked of the kernel now;
    /// add it to the summary's figure for exited members.
    public func liveCPUMicroseconds(of name: String, using query: TaskstatsQuery) -> UInt64 {
        liveUsage(of: name, using: query).cpuMicroseconds
    }

    /// A group's figures including its live members' figures so far, asked of the kernel now:
    /// CPU and storage I/O summed, peak RSS the largest of any member.
    public func summary(of name: String, includingLiveUsing query: TaskstatsQuery) -> Summary? {
        guard var summary = summaries.first(where: { $0.name == name }) else { return nil }
        summary.usage += liveUsage(of: name, using: query)
        return summary
    }

    /// The live members' figures so far, from one query per live thread: a thread's answer
    /// carries CPU, storage I/O and the process's peak RSS, while a process (TGID) answer
    /// has no I/O and also counts its exited threads, which their exit records already added.
    private func liveUsage(of name: String, using query: TaskstatsQuery) -> ResourceUsage {
        var total = ResourceUsage()
        let procfs = ProcFS()
        for pid in members(of: name) {
            for tid in procfs.threads(pid) {
                guard let thread = try? query.thread(tid) else { continue }
                total.add(thread)
            }
        }
        return total
    }

    /// Applies an enriched event: its exit record (if any) is accounted, then the event
    /// applied with the table's view of its subject.
    public func apply(_ enriched: EnrichedEvent) {
        if let record = enriched.exitRecord { account(record) }
        apply(enriched.event, record: enriched.process)
    }

    /// Applies an event; `record` is the process table's view of its subject after it.
    public func apply(_ event: ProcessEvent, record: ProcessRecord?) {
        var joined: [(String, Int32)] = []
        var exited: [(String, Int32, ExitStatus, [TaskstatsRecord])] = []
        var emptied: [String] = []
        var claimed: [(String, Int32)] = []
        state.withLock { state in
            func join(_ pid: Int32, _ index: Int) {
                if let old = state.group[pid], old != index {
                    state.members[old].remove(pid)
                    state.summaries[old].live = state.members[old].count
                    if state.members[old].isEmpty { emptied.append(rules[old].name) }
                }
                guard state.group[pid] != index || !state.members[index].contains(pid) else { return }
                state.group[pid] = index
                state.members[index].insert(pid)
                state.summaries[index].started += 1
                state.summaries[index].live = state.members[index].count
                state.summaries[index].peak = Swift.max(state.summaries[index].peak, state.summaries[index].live)
                if state.summaries[index].firstJoin == nil { state.summaries[index].firstJoin = event.timestamp.monotonicNanoseconds }
                joined.append((rules[index].name, pid))
            }
            switch event.detail {
            case .fork(let parent, let child):
                if child.isThread {
                    state.threadOwner[child.tid] = child.pid
                    if let index = state.group[child.pid] { state.summaries[index].threads += 1 }
                } else {
                    state.parent[child.pid] = parent.pid
                    if let index = state.group[parent.pid] { join(child.pid, index) }
                }
            case .exec(let task), .comm(let task, _), .uid(let task, _, _):
                if !task.isThread, let record, let index = claim(record) {
                    join(task.pid, index)
                    claimed.append((rules[index].name, task.pid))
                }
            case .exit(let task, let waitStatus, _, _):
                state.threadOwner[task.tid] = nil
                guard !task.isThread else { return }
                if state.group[task.pid] == nil { state.records[task.pid] = nil }
                state.parent[task.pid] = nil
                guard let index = state.group.removeValue(forKey: task.pid) else { return }
                state.members[index].remove(task.pid)
                state.summaries[index].lastExit = event.timestamp.monotonicNanoseconds
                state.summaries[index].live = state.members[index].count
                let status = ExitStatus(waitStatus: waitStatus)
                if !status.isSuccess { state.summaries[index].failed += 1 }
                exited.append((rules[index].name, task.pid, status, state.records.removeValue(forKey: task.pid) ?? []))
                if state.members[index].isEmpty { emptied.append(rules[index].name) }
            default:
                break
            }
        }
        let current = handlers.withLock { $0 }
        for (group, pid) in joined { for handler in current.joined { handler(group, pid) } }
        for (group, pid, status, records) in exited { for handler in current.exited { handler(group, pid, status, records) } }
        for group in emptied { for handler in current.empty { handler(group) } }
        for (group, pid) in claimed { for handler in current.claimed { handler(group, pid) } }
    }

    /// Places the processes that were running before the watch began (a seeded
    /// ``ProcessTable``'s ``ProcessTable/records``): each joins the group of the nearest
    /// process up its ancestry, itself included, that a rule claims — as if it had been
    /// watched since its birth — so a rule matches a daemon already running and the jobs it
    /// forks, and a root process brings its existing descendants. `time` is the kernel's
    /// CLOCK_MONOTONIC now (their join time). Processes events have already placed keep
    /// their group.
    public func adopt(_ records: [ProcessRecord], at time: UInt64) {
        let byPID = Dictionary(records.map { ($0.pid, $0) }, uniquingKeysWith: { first, _ in first })
        var resolved: [Int32: Int?] = [:]
        var resolvedByOwnClaim: Set<Int32> = []
        func group(of pid: Int32, depth: Int) -> Int? {
            if let known = resolved[pid] { return known }
            guard depth < 512, let record = byPID[pid] else { return nil }
            let parent = record.parentPID
            let own = claim(record)
            if own != nil { resolvedByOwnClaim.insert(pid) }
            let index = own ?? (parent > 0 && parent != pid ? group(of: parent, depth: depth + 1) : nil)
            resolved[pid] = index
            return index
        }
        var joined: [(String, Int32)] = []
        var claimed: [(String, Int32)] = []
        state.withLock { state in
            // A `pid:` root is its group's from the start: claimed now that it is seen running.
            for (index, rule) in rules.enumerated() {
                if case .process(let pid) = rule.matcher, byPID[pid] != nil, state.group[pid] == index { claimed.append((rule.name, pid)) }
            }
            for record in records.sorted(by: { $0.pid < $1.pid }) where state.group[record.pid] == nil {
                guard let index = group(of: record.pid, depth: 0) else { continue }
                state.group[record.pid] = index
                state.parent[record.pid] = record.parentPID
                state.members[index].insert(record.pid)
                state.summaries[index].started += 1
                state.summaries[index].live = state.members[index].count
                state.summaries[index].peak = Swift.max(state.summaries[index].peak, state.summaries[index].live)
                if state.summaries[index].firstJoin == nil { state.summaries[index].firstJoin = time }
                joined.append((rules[index].name, record.pid))
                if resolvedByOwnClaim.contains(record.pid) { claimed.append((rules[index].name, record.pid)) }
            }
        }
        let current = handlers.withLock { $0 }
        for (group, pid) in joined { for handler in current.joined { handler(group, pid) } }
        for (group, pid) in claimed { for handler in current.claimed { handler(group, pid) } }
    }

    /// Adds a taskstats exit record's figures to the group of its task (call before its exit event).
    public func account(_ record: TaskstatsRecord) {
        guard !record.isProcessTotal else { return }
        state.withLock { state in
            let owner = state.threadOwner[record.id] ?? record.id
            guard let index = state.group[owner] else { return }
            state.records[owner, default: []].append(record)
            state.summaries[index].usage.add(record)
        }
    }

    /// The first rule that claims the process, if any.
    private func claim(_ record: ProcessRecord) -> Int? {
        let program = record.commandLine.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
        return rules.firstIndex { rule in
            switch rule.matcher {
            case .name:
                guard let regex = rule.regex else { return false }
                return (try? regex.firstMatch(in: record.name)) != nil || (!program.isEmpty && (try? regex.firstMatch(in: program)) != nil)
            case .executable(let path): return record.executable == path
            case .uid(let uid): return record.uid == uid
            case .process(let pid): return record.pid == pid
            }
        }
    }
}
