import Netlink

/// Waiting for the kernel's reply to one TASKSTATS request: the loop the cpumask
/// registration (``TaskstatsListener``) and the live query (``TaskstatsQuery``) share.
enum TaskstatsReply {
    /// Reads up to `reads` batches (each waiting at most 2 s) and hands every message with
    /// `sequence` to `settle`, until it returns a value; nil when none did (no answer).
    static func settled<Value>(
        sequence: UInt32, on socket: NetlinkSocket, into batch: DatagramBatch, reads: Int,
        _ settle: (NetlinkMessage) throws(ProcWatchError) -> Value?
    ) throws(ProcWatchError) -> Value? {
        for _ in 0..<reads {
            let outcome: ReceiveOutcome
            do throws(NetlinkError) { outcome = try socket.receive(into: batch, timeout: .seconds(2)) } catch {
                throw .system(call: error.call, errno: error.errno.rawValue)
            }
            guard case .datagrams(let count) = outcome else { break }
            for index in 0..<count {
                for case .success(let message) in NetlinkMessages(batch.datagram(index)) where message.sequence == sequence {
                    if let value = try settle(message) { return value }
                }
            }
        }
        return nil
    }
}
