import Glibc

/// The kernel's count of proc-connector listeners (cn_proc's proc_event_num_listeners).
///
/// The kernel sends process events only while the count is above zero, and a program that
/// closes its socket without IGNORE (forkstat always does) leaves it raised until reboot.
/// `storm-bench` probes the count around each forkstat run and gives back exactly the one
/// count forkstat leaked, and nothing else.
enum Listeners {
    static let netlinkConnector: Int32 = 11  // NETLINK_CONNECTOR
    static let procGroup: UInt32 = 1         // CN_IDX_PROC
    static let procValue: UInt32 = 1         // CN_VAL_PROC
    static let opListen: UInt32 = 1          // PROC_CN_MCAST_LISTEN
    static let opIgnore: UInt32 = 2          // PROC_CN_MCAST_IGNORE
    static let opInvalid: UInt32 = 3         // not an op: the kernel still records it as the socket's last op

    /// Does anyone listen? A socket bound to the CN_IDX_PROC group that never sends LISTEN
    /// still receives events exactly while the count is above zero: bind one, run
    /// /bin/true, and wait up to `wait` seconds for any datagram.
    static func anyoneListening(wait: Double = 0.3) throws -> Bool {
        let fd = try boundSocket()
        defer { close(fd) }
        let child = try spawn(["/bin/true"], stdout: .devNull, stderr: .devNull)
        _ = waitFor(child)
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = monotonicNow() + wait
        while true {
            let left = Int32(max(0, (deadline - monotonicNow()) * 1000))
            let ready = poll(&entry, 1, left)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { throw BenchError.posix("poll") }
        }
    }

    /// Port ids of the NETLINK_CONNECTOR sockets (other than the kernel's) subscribed to the
    /// CN_IDX_PROC group right now, from /proc/net/netlink: programs that may be listening
    /// (a live listener raises the count too, and gives it back when it sends IGNORE).
    static func liveSockets() -> [UInt32] {
        // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
        readText("/proc/net/netlink").split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 4, fields[1] == "\(netlinkConnector)",
                  let port = UInt32(fields[2]), port != 0,
                  let groups = UInt32(fields[3], radix: 16), groups & procGroup != 0 else { return nil }
            return port
        }
    }

    /// The count once live listeners are gone: waits up to `patience` seconds for every
    /// live connector socket to close (another program's short listen, e.g. a test), then
    /// probes. `live` lists the sockets still open if the wait ran out.
    static func settledState(patience: Double = 5) throws -> (raised: Bool, live: [UInt32]) {
        let deadline = monotonicNow() + patience
        var live = liveSockets()
        while !live.isEmpty && monotonicNow() < deadline {
            sleepSeconds(0.25)
            live = liveSockets()
        }
        return (try anyoneListening(), live)
    }

    /// Gives back one leaked count. On a fresh socket, an invalid op first (the kernel
    /// records it as the socket's previous op), then IGNORE: the kernel decrements the
    /// count because the socket's previous op was not IGNORE. Never call this when the
    /// count is zero: it would go below zero and silence the connector for everyone.
    static func releaseOne() throws {
        let fd = try boundSocket()
        defer { close(fd) }
        try send(op: opInvalid, on: fd)
        try send(op: opIgnore, on: fd)
    }

    /// Adds one to the count on purpose: LISTEN on a fresh socket, closed without IGNORE (the
    /// leak forkstat makes). Only to bring a count that went below zero back up: then the
    /// connector is silent for every listener.
    static func leakOne() throws {
        let fd = try boundSocket()
        defer { close(fd) }
        try send(op: opListen, on: fd)
    }

    /// A NETLINK_CONNECTOR socket bound to the CN_IDX_PROC group (port chosen by the kernel).
    private static func boundSocket() throws -> Int32 {
        let fd = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkConnector)
        guard fd >= 0 else { throw BenchError.posix("socket(AF_NETLINK, NETLINK_CONNECTOR)") }
        let address = netlinkAddress(groups: procGroup)
        let rc = address.withUnsafeBytes { bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw BenchError.posix("bind(CN_IDX_PROC)", code)
        }
        return fd
    }

    /// struct sockaddr_nl { u16 nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups } (12 bytes).
    private static func netlinkAddress(pid: UInt32 = 0, groups: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        append(UInt16(AF_NETLINK), to: &bytes)
        append(UInt16(0), to: &bytes)
        append(pid, to: &bytes)
        append(groups, to: &bytes)
        return bytes
    }

    /// nlmsghdr {len, type NLMSG_DONE, flags 0, seq, pid 0} + cn_msg {idx, val, seq, ack,
    /// len 4, flags 0} + the 4-byte op, sent to the kernel (nl_pid 0).
    static func message(op: UInt32, seq: UInt32 = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        append(UInt32(16 + 20 + 4), to: &bytes)
        append(UInt16(3), to: &bytes)  // NLMSG_DONE
        append(UInt16(0), to: &bytes)
        append(seq, to: &bytes)
        append(UInt32(0), to: &bytes)
        append(procGroup, to: &bytes)
        append(procValue, to: &bytes)
        append(seq, to: &bytes)
        append(UInt32(0), to: &bytes)  // ack
        append(UInt16(4), to: &bytes)  // payload length
        append(UInt16(0), to: &bytes)  // flags
        append(op, to: &bytes)
        return bytes
    }

    private static func send(op: UInt32, on fd: Int32) throws {
        let message = message(op: op)
        let kernel = netlinkAddress(groups: 0)
        let sent = message.withUnsafeBytes { body in
            kernel.withUnsafeBytes { address in
                sendto(fd, body.baseAddress, body.count, 0,
                       address.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
            }
        }
        guard sent == message.count else { throw BenchError.posix("sendto(cn_proc op \(op))") }
    }

    /// Host byte order, as netlink wants.
    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }
}
