import Glibc
import Netlink
import Synchronization
@testable import ProcWatch

/// A transport that plays the kernel: it records what is sent, answers LISTEN with an
/// ack (unless told to stay silent, as the kernel does for other namespaces), and hands
/// out scripted datagrams, overruns and errors in order.
final class ScriptedKernel: NetlinkTransport {
    enum Delivery {
        case datagrams([[UInt8]])
        case overrun(drops: UInt32?)
        case failure(NetlinkError)
    }

    private struct State {
        var queue: [Delivery] = []
        var sent: [[UInt8]] = []
        var woken = false
        var closed = false
        var drops: UInt32? = 0
    }

    private let state = Mutex(State())
    let acknowledgesListen: Bool
    let sendError: NetlinkError?

    init(acknowledgesListen: Bool = true, sendError: NetlinkError? = nil) {
        self.acknowledgesListen = acknowledgesListen
        self.sendError = sendError
    }

    /// Queues datagrams for the reader.
    func deliver(_ datagrams: [UInt8]...) { state.withLock { $0.queue.append(.datagrams(datagrams)) } }
    /// Queues an ENOBUFS; when it is read, the socket's drop counter stands at `drops`.
    func overrun(dropsNow drops: UInt32?) {
        state.withLock { $0.queue.append(.overrun(drops: drops)) }
    }
    /// Queues a receive failure.
    func fail(_ error: NetlinkError) { state.withLock { $0.queue.append(.failure(error)) } }

    /// Everything sent so far.
    var sent: [[UInt8]] { state.withLock { $0.sent } }
    var isClosed: Bool { state.withLock { $0.closed } }
    /// Whether the reader has taken everything queued.
    var pendingIsEmpty: Bool { state.withLock { $0.queue.isEmpty } }
    /// The 4-byte connector ops sent (1 = LISTEN, 2 = IGNORE); 8-byte filters as `(1, mask)`.
    var operations: [(op: UInt32, mask: UInt32?)] {
        sent.map { message in
            message.withUnsafeBytes { bytes in
                let length = Int(bytes.read(UInt16.self, at: 32) ?? 0)
                let op = bytes.read(UInt32.self, at: 36) ?? 0
                return (op, length == 8 ? bytes.read(UInt32.self, at: 40) : nil)
            }
        }
    }

    func send(_ message: [UInt8]) throws(NetlinkError) {
        if let sendError { throw sendError }
        state.withLock { $0.sent.append(message) }
        let (length, op, ack) = message.withUnsafeBytes {
            ($0.read(UInt16.self, at: 32)!, $0.read(UInt32.self, at: 36)!, $0.read(UInt32.self, at: 28)!)
        }
        if acknowledgesListen, length == 4, op == 1 {
            deliver(KernelBytes.ack(acknowledgement: ack &+ 1, cpu: 0, sequence: 0))
        }
    }

    func receive(into batch: DatagramBatch, timeout: Duration?) throws(NetlinkError) -> ReceiveOutcome {
        let deadline = ContinuousClock.now + (timeout ?? .seconds(3600))
        while true {
            let next: Delivery?? = state.withLock { state in
                if state.woken { state.woken = false; return .some(nil) }
                return state.queue.isEmpty ? nil : .some(state.queue.removeFirst())
            }
            switch next {
            case .some(.none): return .woken
            case .some(.some(.datagrams(let datagrams))):
                batch.fill(with: datagrams)
                return .datagrams(datagrams.count)
            case .some(.some(.overrun(let drops))):
                state.withLock { $0.drops = drops }
                return .overrun
            case .some(.some(.failure(let error))): throw error
            case .none:
                if ContinuousClock.now >= deadline { return .timedOut }
                usleep(500)
            }
        }
    }

    func wake() { state.withLock { $0.woken = true } }
    func droppedMessages() -> UInt32? { state.withLock { $0.drops } }
    func close() { state.withLock { $0.closed = true } }
}

/// Builds kernel messages byte by byte, the way cn_proc lays them out.
enum KernelBytes {
    /// nlmsghdr + cn_msg + proc_event with `data` as the event_data words (zero-padded to 24 bytes).
    static func event(what: UInt32, cpu: UInt32 = 0, sequence: UInt32, timestamp: UInt64 = 1_000,
                      acknowledgement: UInt32 = 0, words: [UInt32] = []) -> [UInt8] {
        var event: [UInt8] = []
        event.append(integer: what)
        event.append(integer: cpu)
        event.append(integer: timestamp)
        for word in words { event.append(integer: word) }
        while event.count < 40 { event.append(0) }
        var payload: [UInt8] = []
        payload.append(integer: UInt32(1))
        payload.append(integer: UInt32(1))
        payload.append(integer: sequence)
        payload.append(integer: acknowledgement)
        payload.append(integer: UInt16(event.count))
        payload.append(integer: UInt16(0))
        payload.append(contentsOf: event)
        return NetlinkMessage.encode(type: NetlinkMessage.done, flags: 0, sequence: sequence, payload: payload)
    }

    static func ack(acknowledgement: UInt32, cpu: UInt32, sequence: UInt32, error: UInt32 = 0) -> [UInt8] {
        event(what: 0, cpu: cpu, sequence: sequence, acknowledgement: acknowledgement, words: [error])
    }

    static func fork(parent: Int32, child: Int32, childThread: Int32? = nil, cpu: UInt32 = 0, sequence: UInt32) -> [UInt8] {
        event(what: 0x1, cpu: cpu, sequence: sequence,
              words: [UInt32(bitPattern: parent), UInt32(bitPattern: parent),
                      UInt32(bitPattern: childThread ?? child), UInt32(bitPattern: child)])
    }

    static func exec(_ pid: Int32, cpu: UInt32 = 0, sequence: UInt32) -> [UInt8] {
        event(what: 0x2, cpu: cpu, sequence: sequence, words: [UInt32(bitPattern: pid), UInt32(bitPattern: pid)])
    }

    static func exit(_ pid: Int32, status: UInt32, parent: Int32 = 1, cpu: UInt32 = 0, sequence: UInt32) -> [UInt8] {
        event(what: 0x8000_0000, cpu: cpu, sequence: sequence,
              words: [UInt32(bitPattern: pid), UInt32(bitPattern: pid), status, 17,
                      UInt32(bitPattern: parent), UInt32(bitPattern: parent)])
    }
}
