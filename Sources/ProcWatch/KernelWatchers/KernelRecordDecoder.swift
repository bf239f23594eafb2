import CProcWatch

/// Turns one ring-buffer record of the kernel-side watchers (`procwatch_bpf_records.h`)
/// into a ``ProcessEvent``: the connector's fields in the connector's model, plus the
/// ``KernelDetails`` only the kernel side has.
enum KernelRecordDecoder {
    static let eventSize = MemoryLayout<procwatch_bpf_event>.size
    static let execSize = MemoryLayout<procwatch_bpf_exec>.size
    static let usageSize = MemoryLayout<procwatch_bpf_usage>.size
    static let failureSize = MemoryLayout<procwatch_bpf_exec_failure>.size

    /// The event of `record`, or a `malformed` loss report for one too short for its kind.
    static func decode(_ record: UnsafeRawBufferPointer, unixOffsetNanoseconds: Int64) -> ProcessEvent {
        guard record.count >= eventSize else { return malformed() }
        let header = record.loadUnaligned(as: procwatch_bpf_event.self)
        let task = TaskID(pid: header.tgid, tid: header.tid)
        let other = TaskID(pid: header.other_tgid, tid: header.other_tid)
        let tail = UnsafeRawBufferPointer(rebasing: record[eventSize...])
        var details: KernelDetails?
        let detail: ProcessEvent.Detail
        switch EventKind(rawValue: header.kind) {
        case .fork: detail = .fork(parent: other, child: task)
        case .exec:
            guard tail.count >= execSize else { return malformed() }
            let exec = tail.loadUnaligned(as: procwatch_bpf_exec.self)
            guard let (path, argv) = strings(after: execSize, in: tail, pathSize: exec.path_size, argvSize: exec.argv_size)
            else { return malformed() }
            let cut = exec.flags & PROCWATCH_BPF_FLAG_ARGV_CUT != 0
            var execDetails = ExecDetails(
                commandLine: commandLine(argv, isCut: cut), isCommandLineCut: cut,
                executable: String(decoding: path, as: UTF8.self), cgroupID: exec.cgroup_id,
                uid: exec.uid, effectiveUID: exec.euid, gid: exec.gid, effectiveGID: exec.egid,
                loginUID: exec.flags & PROCWATCH_BPF_FLAG_HAS_LOGINUID != 0 ? exec.loginuid : nil,
                isExecutableUnresolved: exec.flags & PROCWATCH_BPF_FLAG_EXE_UNRESOLVED != 0,
                name: withUnsafeBytes(of: header.comm) { ProcEventDecoder.commString($0) })
            execDetails.attributedCgroup = attributedCgroup(exec)
            details = KernelDetails(exec: execDetails)
            detail = .exec(task)
        case .uid: detail = .uid(task, real: header.value0, effective: header.value1)
        case .gid: detail = .gid(task, real: header.value0, effective: header.value1)
        case .sid: detail = .sid(task)
        case .ptrace: detail = .ptrace(task, tracer: other)
        case .comm:
            let name = withUnsafeBytes(of: header.comm) { ProcEventDecoder.commString($0) }
            detail = .comm(task, name: name)
        case .coredump: detail = .coredump(task, parent: other)
        case .exit:
            if tail.count >= usageSize {
                let usage = tail.loadUnaligned(as: procwatch_bpf_usage.self)
                details = KernelDetails(usage: ResourceUsage(
                    userMicroseconds: usage.utime_ns / 1000, systemMicroseconds: usage.stime_ns / 1000,
                    peakRSSKiB: usage.maxrss_kib, readBytes: usage.read_bytes, writeBytes: usage.write_bytes,
                    readChars: usage.rchar, writeChars: usage.wchar, recordCount: 1))
            }
            detail = .exit(task, waitStatus: header.value0, exitSignal: Int32(bitPattern: header.value1), parent: other)
        case .execFailed:
            guard tail.count >= failureSize else { return malformed() }
            let failure = tail.loadUnaligned(as: procwatch_bpf_exec_failure.self)
            guard let (path, argv) = strings(after: failureSize, in: tail, pathSize: failure.path_size,
                                             argvSize: failure.argv_size)
            else { return malformed() }
            let cut = failure.flags & PROCWATCH_BPF_FLAG_ARGV_CUT != 0
            detail = .execFailed(task, ExecFailure(
                path: String(decoding: path, as: UTF8.self), commandLine: commandLine(argv, isCut: cut),
                isCommandLineCut: cut, errno: failure.error))
        case .unknown, nil:
            detail = .unknown(what: header.kind, data: Array(tail))
        }
        let timestamp = EventTimestamp(monotonicNanoseconds: header.timestamp_ns,
                                       unixNanoseconds: Int64(bitPattern: header.timestamp_ns) &+ unixOffsetNanoseconds)
        return ProcessEvent(detail: detail, timestamp: timestamp, cpu: header.cpu, sequence: header.sequence,
                            kernelDetails: details)
    }

    /// The cgroup the kernel side named for an exec, when it took one.
    private static func attributedCgroup(_ exec: procwatch_bpf_exec) -> AttributedCgroupID? {
        guard exec.flags & PROCWATCH_BPF_FLAG_CGROUP_TAKEN != 0 else { return nil }
        if exec.flags & PROCWATCH_BPF_FLAG_CGROUP_ROOTS != 0 { return .roots }
        return .cgroup(hierarchy: exec.attributed_hierarchy, id: exec.attributed_cgroup_id)
    }

    /// The path and argv bytes that follow a tail of `offset` bytes; nil when they overrun the record.
    private static func strings(after offset: Int, in tail: UnsafeRawBufferPointer, pathSize: UInt32, argvSize: UInt32)
        -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer)? {
        let pathEnd = offset + Int(pathSize)
        let argvEnd = pathEnd + Int(argvSize)
        guard argvEnd <= tail.count else { return nil }
        return (UnsafeRawBufferPointer(rebasing: tail[offset..<pathEnd]),
                UnsafeRawBufferPointer(rebasing: tail[pathEnd..<argvEnd]))
    }

    /// NUL-terminated arguments as strings (invalid UTF-8 repaired). Empty arguments are
    /// kept; only the terminator of the last one ends the list. A cut list ends with the
    /// part of the argument that fitted.
    static func commandLine(_ bytes: UnsafeRawBufferPointer, isCut: Bool) -> [String] {
        guard !bytes.isEmpty else { return [] }
        var parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
        if bytes.last == 0 { parts.removeLast() }
        return parts.map { String(decoding: $0, as: UTF8.self) }
    }

    private static func malformed() -> ProcessEvent {
        ProcessEvent(detail: .lost(count: 1, reason: .malformed, cpu: nil), timestamp: .now)
    }
}
