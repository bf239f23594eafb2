import CProcWatch
import Glibc
import Netlink

/// Gives back the one listener count that a `kill -9` of a subscribed procwatch leaks.
///
/// On a fresh connector socket: an op the kernel does not know (it still records it as the
/// socket's previous op), then IGNORE, which decrements the count because the previous op
/// was not IGNORE. Only call it right after a test's own `kill -9`, and only when
/// ``ListenerProbe`` shows the count raised: below zero the connector goes silent for everyone.
enum ListenerRelease {
    static func releaseOne() throws {
        let socket = try NetlinkSocket(netlinkProtocol: NETLINK_CONNECTOR, groups: UInt32(CN_IDX_PROC))
        defer { socket.close() }
        try socket.send(message(op: 3))
        try socket.send(message(op: 2))  // PROC_CN_MCAST_IGNORE
    }

    /// nlmsghdr (NLMSG_DONE) + cn_msg {CN_IDX_PROC, CN_VAL_PROC} + a 4-byte op.
    private static func message(op: UInt32) -> [UInt8] {
        var payload: [UInt8] = []
        for word in [UInt32(CN_IDX_PROC), UInt32(CN_VAL_PROC), 0, 0] { withUnsafeBytes(of: word.littleEndian) { payload += $0 } }
        withUnsafeBytes(of: UInt16(4).littleEndian) { payload += $0 }  // len
        withUnsafeBytes(of: UInt16(0)) { payload += $0 }  // flags
        withUnsafeBytes(of: op.littleEndian) { payload += $0 }
        return NetlinkMessage.encode(type: NetlinkMessage.done, flags: 0, sequence: 0, payload: payload)
    }
}
