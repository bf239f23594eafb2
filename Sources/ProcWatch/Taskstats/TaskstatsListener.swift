#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Netlink
import Synchronization

/// Per-task accounting records from the kernel's TASKSTATS generic netlink family.
///
/// Registering a cpumask for every CPU makes the kernel send a record for each task that
/// exits (and one for the whole process when its last thread exits) to this socket. The
/// record is sent before the proc connector's exit event, and carries the task's final
/// name — a source of names that never races with /proc. Needs CAP_NET_ADMIN.
public final class TaskstatsListener: Sendable {
    private let socket: NetlinkSocket
    private let family: UInt16
    private let cpumask: [UInt8]
    private let batch = Mutex(DatagramBatch(capacity: 32, slotSize: 2048))
    private let overruns = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    private let lastDropCount = Atomic<UInt32>(0)

    /// Opens the socket, resolves the family and registers for every possible CPU.
    public init(receiveBufferBytes: Int = 8 << 20) throws(ProcWatchError) {
        do {
            socket = try NetlinkSocket(netlinkProtocol: NETLINK_GENERIC)
        } catch {
            throw .system(call: error.call, errno: error.errno.rawValue)
        }
        socket.setReceiveBufferSize(receiveBufferBytes)
        do {
            family = try GenericNetlink.resolveFamily("TASKSTATS", on: socket)
        } catch {
            socket.close()
            switch error {
            case .noSuchFamily: throw .taskstatsUnavailable(detail: "the kernel has no TASKSTATS family (CONFIG_TASKSTATS)")
            case .failed(let failure): throw .system(call: failure.call, errno: failure.errno.rawValue)
            case .noAnswer: throw .taskstatsUnavailable(detail: "the generic netlink controller did not answer")
            }
        }
        let last = Swift.max(0, sysconf(Int32(_SC_NPROCESSORS_CONF)) - 1)
        cpumask = Array("0-\(last)".utf8) + [0]
        do throws(ProcWatchError) {
            do {
                try socket.send(GenericNetlink.request(
                    family: family, command: UInt8(TASKSTATS_CMD_GET), sequence: 1, acknowledged: true,
                    attributes: [(UInt16(TASKSTATS_CMD_ATTR_REGISTER_CPUMASK), cpumask)]))
            } catch {
                throw error.errno == .notPermitted || error.errno == .permissionDenied
                    ? .permissionDenied(operation: "registering for taskstats exit records", capability: "CAP_NET_ADMIN")
                    : .system(call: error.call, errno: error.errno.rawValue)
            }
            try expectAcknowledgement(sequence: 1)
        } catch {
            socket.close()
            throw error
        }
    }

    deinit { close() }

    /// Waits for the kernel's answer to a request (its ack, or the error it carries).
    private func expectAcknowledgement(sequence: UInt32) throws(ProcWatchError) {
        let acknowledged = try batch.withLock { (batch: inout DatagramBatch) throws(ProcWatchError) -> Bool? in
            try TaskstatsReply.settled(sequence: sequence, on: socket, into: batch, reads: 16) { (message) throws(ProcWatchError) -> Bool? in
                guard let code = message.errorCode else { return nil }
                if code == 0 { return true }
                if code == -EPERM || code == -EACCES {
                    throw .permissionDenied(operation: "registering for taskstats exit records", capability: "CAP_NET_ADMIN")
                }
                throw .system(call: "TASKSTATS_CMD_GET", errno: -code)
            }
        }
        if acknowledged == nil { throw .taskstatsUnavailable(detail: "the kernel did not answer the cpumask registration") }
    }

    /// Reads every record already queued, without waiting, and passes each to `body`.
    /// Returns how many were read.
    @discardableResult
    public func drain(_ body: (TaskstatsRecord) -> Void) -> Int {
        receive(timeout: .zero, body)
    }

    /// Waits up to `timeout` for records, then reads all that are queued.
    @discardableResult
    public func receive(timeout: Duration?, _ body: (TaskstatsRecord) -> Void) -> Int {
        batch.withLock { batch in
            var read = 0
            var wait = timeout
            while true {
                let outcome: ReceiveOutcome
                do { outcome = try socket.receive(into: batch, timeout: wait) } catch { return read }
                wait = .zero
                switch outcome {
                case .datagrams(let count):
                    for index in 0..<count {
                        for case .success(let message) in NetlinkMessages(batch.datagram(index))
                        where message.type == family && message.payload.count > 4 {
                            for record in TaskstatsRecord.decode(attributes: UnsafeRawBufferPointer(rebasing: message.payload[4...])) {
                                body(record)
                                read += 1
                            }
                        }
                    }
                case .overrun:
                    // Records the kernel could not queue: the socket's drop counter says how many.
                    overruns.add(1, ordering: .relaxed)
                    if let drops = socket.droppedMessages() {
                        let previous = lastDropCount.exchange(drops, ordering: .relaxed)
                        dropped.add(Int(drops &- previous), ordering: .relaxed)
                    }
                case .woken, .timedOut:
                    return read
                }
            }
        }
    }

    /// How many times the socket overflowed and records were lost.
    public var overflowCount: Int { overruns.load(ordering: .relaxed) }

    /// How many exit records the kernel dropped for this socket (its drop counter, read at
    /// each overflow): the tasks whose figures are missing.
    public var lostRecords: Int { dropped.load(ordering: .relaxed) }

    /// Deregisters and closes. Idempotent.
    public func close() {
        try? socket.send(GenericNetlink.request(
            family: family, command: UInt8(TASKSTATS_CMD_GET), sequence: 2,
            attributes: [(UInt16(TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK), cpumask)]))
        socket.close()
    }
}
