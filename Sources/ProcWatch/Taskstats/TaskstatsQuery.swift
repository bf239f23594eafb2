#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Netlink
import Synchronization

/// On-demand taskstats for a live task (TASKSTATS_CMD_GET): the figures so far of a thread
/// (`pid`) or of a whole process (`tgid`). Needs CAP_NET_ADMIN on most kernels.
public final class TaskstatsQuery: Sendable {
    private let socket: NetlinkSocket
    private let family: UInt16
    private let sequence = Atomic<UInt32>(1)
    private let batch = Mutex(DatagramBatch(capacity: 4, slotSize: 4096))

    /// Opens a socket and resolves the family.
    public init() throws(ProcWatchError) {
        do {
            socket = try NetlinkSocket(netlinkProtocol: NETLINK_GENERIC)
        } catch {
            throw .system(call: error.call, errno: error.errno.rawValue)
        }
        do {
            family = try GenericNetlink.resolveFamily("TASKSTATS", on: socket)
        } catch {
            socket.close()
            throw .taskstatsUnavailable(detail: "\(error)")
        }
    }

    deinit { socket.close() }

    /// The process's figures so far (all its threads, live and exited), or nil when it is gone.
    public func process(_ pid: Int32) throws(ProcWatchError) -> TaskstatsRecord? {
        try query(attribute: UInt16(TASKSTATS_CMD_ATTR_TGID), id: pid)
    }

    /// One thread's figures so far, or nil when it is gone.
    public func thread(_ tid: Int32) throws(ProcWatchError) -> TaskstatsRecord? {
        try query(attribute: UInt16(TASKSTATS_CMD_ATTR_PID), id: tid)
    }

    private func query(attribute: UInt16, id: Int32) throws(ProcWatchError) -> TaskstatsRecord? {
        let number = sequence.add(1, ordering: .relaxed).newValue
        var value: [UInt8] = []
        value.append(integer: UInt32(bitPattern: id))
        do {
            try socket.send(GenericNetlink.request(family: family, command: UInt8(TASKSTATS_CMD_GET), sequence: number,
                                                   attributes: [(attribute, value)]))
        } catch {
            throw error.errno == .notPermitted || error.errno == .permissionDenied
                ? .permissionDenied(operation: "querying taskstats", capability: "CAP_NET_ADMIN")
                : .system(call: error.call, errno: error.errno.rawValue)
        }
        // The reply settles to a record, or to none (`.some(nil)`: no such task).
        let reply = try batch.withLock { (batch: inout DatagramBatch) throws(ProcWatchError) -> TaskstatsRecord?? in
            try TaskstatsReply.settled(sequence: number, on: socket, into: batch, reads: 8) {
                (message) throws(ProcWatchError) -> TaskstatsRecord?? in
                if let code = message.errorCode {
                    if code == -ESRCH || code == 0 { return .some(nil) }
                    if code == -EPERM || code == -EACCES {
                        throw .permissionDenied(operation: "querying taskstats", capability: "CAP_NET_ADMIN")
                    }
                    throw .system(call: "TASKSTATS_CMD_GET", errno: -code)
                }
                guard message.payload.count > 4 else { return nil }
                return .some(TaskstatsRecord.decode(attributes: UnsafeRawBufferPointer(rebasing: message.payload[4...])).first)
            }
        }
        guard let reply else { throw .taskstatsUnavailable(detail: "no answer to TASKSTATS_CMD_GET") }
        return reply
    }
}
