import CProcWatch
import Foundation
import Glibc
import Netlink

/// Gives back exactly the listener count that a `kill -9` of a subscribed procwatch leaks.
///
/// Before the kill, the test copies procwatch's own proc connector socket into itself
/// (`pidfd_getfd`, Linux 5.6+, root); the socket then outlives procwatch, still marked as
/// having sent LISTEN, and an IGNORE on it decrements the count once, for that socket only.
/// Judging from the count (``ListenerProbe``) instead cannot tell a leak from another
/// listener on the host: a repair made while someone else listens takes the count below
/// zero once they leave, and the connector then goes silent for everyone.
enum ListenerRelease {
    /// Copies of `pid`'s NETLINK_CONNECTOR sockets (close them after ``release(_:)``).
    static func adoptConnectorSockets(of pid: Int32) throws -> [Int32] {
        // The inodes of connector sockets (protocol 11) in this network namespace.
        let table = try String(contentsOfFile: "/proc/net/netlink", encoding: .utf8)
        let connectors = Set(table.split(separator: "\n").dropFirst().compactMap { line -> Substring? in
            let fields = line.split(separator: " ")
            return fields.count >= 10 && fields[1] == "11" ? fields[9] : nil
        })
        let process = pidfdOpen(pid, 0)
        guard process >= 0 else { throw Spawn.Failure(description: "pidfd_open \(pid): \(String(cString: strerror(errno)))") }
        defer { close(process) }
        var adopted: [Int32] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") {
            guard let descriptor = Int32(name) else { continue }
            var target = [CChar](repeating: 0, count: 256)
            let length = readlink("/proc/\(pid)/fd/\(name)", &target, target.count - 1)
            let link = String(decoding: target.prefix(max(0, length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard link.hasPrefix("socket:["), connectors.contains(link.dropFirst(8).dropLast()) else { continue }
            let copy = pidfdGetfd(process, descriptor, 0)
            guard copy >= 0 else { throw Spawn.Failure(description: "pidfd_getfd \(pid) \(descriptor): \(String(cString: strerror(errno)))") }
            adopted.append(copy)
        }
        return adopted
    }

    /// Sends IGNORE on each adopted socket and closes it; returns how many went out.
    @discardableResult
    static func release(_ sockets: [Int32]) -> Int {
        let message = ignore()
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        var sent = 0
        for socket in sockets {
            let result = withUnsafePointer(to: &kernel) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                }
            }
            if result == message.count { sent += 1 }
            close(socket)
        }
        return sent
    }

    /// nlmsghdr (NLMSG_DONE) + cn_msg {CN_IDX_PROC, CN_VAL_PROC} + PROC_CN_MCAST_IGNORE.
    private static func ignore() -> [UInt8] {
        var payload: [UInt8] = []
        for word in [UInt32(CN_IDX_PROC), UInt32(CN_VAL_PROC), 0, 0] { withUnsafeBytes(of: word.littleEndian) { payload += $0 } }
        withUnsafeBytes(of: UInt16(4).littleEndian) { payload += $0 }  // len
        withUnsafeBytes(of: UInt16(0)) { payload += $0 }  // flags
        withUnsafeBytes(of: UInt32(2).littleEndian) { payload += $0 }  // PROC_CN_MCAST_IGNORE
        return NetlinkMessage.encode(type: NetlinkMessage.done, flags: 0, sequence: 0, payload: payload)
    }

    // glibc 2.36 has both, but its Swift module does not declare them.
    private typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    private typealias PidfdGetfd = @convention(c) (Int32, Int32, UInt32) -> Int32
    private static let pidfdOpen = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pidfd_open"), to: PidfdOpen.self)
    private static let pidfdGetfd = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pidfd_getfd"), to: PidfdGetfd.self)
}
