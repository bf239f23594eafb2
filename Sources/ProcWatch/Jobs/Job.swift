/// A group of processes kept in user space — the fork connector's original purpose — and
/// the accounting of its members.
///
/// Membership is inherited at fork by processes and threads alike, and stays when a member
/// is re-parented (a double-forked daemon is still in its job). Feed it every fork, exec,
/// comm and exit event (in kernel order) and every taskstats exit record.
public struct Job: Sendable {
    /// The process the job grows from.
    public let root: Int32
    private var tree: ProcessTree
    /// Every member seen, in fork order (exited ones included).
    public private(set) var members: [JobMember] = []
    private var index: [Int32: Int] = [:]
    /// Thread id → process id, for threads of live members.
    private var threadOwners: [Int32: Int32] = [:]
    /// Records that arrived before the exit event that retires their task.
    private var pendingRecords: [Int32: [TaskstatsRecord]] = [:]

    /// A job rooted at `root`; `rootRecord` describes it (name, command line, start) when known.
    public init(root: Int32, rootRecord: ProcessRecord? = nil, includeRoot: Bool = true) {
        self.root = root
        tree = ProcessTree(root: root)
        if includeRoot {
            add(JobMember(pid: root, parentPID: rootRecord?.parentPID ?? 0, name: rootRecord?.name ?? "",
                          commandLine: rootRecord?.commandLine ?? [], start: rootRecord?.startNanoseconds ?? 0))
        }
    }

    /// Whether a pid is a live member.
    public func contains(_ pid: Int32) -> Bool { tree.contains(pid) }

    /// Live members (processes that have not exited).
    public var liveMembers: [JobMember] { members.filter { $0.end == nil && tree.contains($0.pid) } }

    /// Whether every member has exited.
    public var isEmpty: Bool { liveMembers.isEmpty }

    /// Applies an enriched event: its exit record (if any) is accounted, then the event
    /// applied with the table's view of its subject. Returns the member it concerned, if any.
    @discardableResult
    public mutating func apply(_ enriched: EnrichedEvent) -> JobMember? {
        if let record = enriched.exitRecord { account(record) }
        return apply(enriched.event, record: enriched.process)
    }

    /// Applies an event; `record` is the process table's view of the subject after it.
    /// Returns the member it concerned, if any.
    @discardableResult
    public mutating func apply(_ event: ProcessEvent, record: ProcessRecord?) -> JobMember? {
        tree.admit(event)
        defer { tree.retire(event) }
        switch event.detail {
        case .fork(let parent, let child):
            guard tree.contains(child.pid) else { return nil }
            if child.isThread {
                threadOwners[child.tid] = child.pid
                guard let position = index[child.pid] else { return nil }
                members[position].threads += 1
                return members[position]
            }
            return add(JobMember(pid: child.pid, parentPID: parent.pid, name: record?.name ?? "",
                                 commandLine: record?.commandLine ?? [], start: event.timestamp.monotonicNanoseconds))
        case .exec(let task), .comm(let task, _):
            guard tree.contains(task.pid), let position = index[task.pid], let record else { return nil }
            members[position].name = record.name
            if !record.commandLine.isEmpty || event.kind == .exec { members[position].commandLine = record.commandLine }
            return members[position]
        case .exit(let task, let waitStatus, _, _):
            guard tree.contains(task.pid), let position = index[task.pid] else { return nil }
            let records = pendingRecords.removeValue(forKey: task.tid) ?? []
            for pending in records { members[position].usage.add(pending) }
            if task.isThread {
                threadOwners[task.tid] = nil
                return members[position]
            }
            members[position].end = event.timestamp.monotonicNanoseconds
            members[position].status = event.isExitStatusKnown ? ExitStatus(waitStatus: waitStatus) : nil
            if let name = record?.name, !name.isEmpty { members[position].name = name }
            // Gone before /proc could be read: the exit record still has its final name.
            if members[position].name.isEmpty || members[position].commandLine.isEmpty,
               let final = records.last?.name, !final.isEmpty {
                members[position].name = final
            }
            return members[position]
        default:
            return nil
        }
    }

    /// Adds a taskstats exit record (sent just before the exit event of its task).
    public mutating func account(_ record: TaskstatsRecord) {
        guard !record.isProcessTotal else { return }
        let owner = threadOwners[record.id] ?? record.id
        guard tree.contains(owner) else { return }
        pendingRecords[record.id, default: []].append(record)
    }

    @discardableResult
    private mutating func add(_ member: JobMember) -> JobMember {
        index[member.pid] = members.count
        members.append(member)
        return member
    }
}
