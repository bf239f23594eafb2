import Glibc
import Synchronization

/// The reference for latency: a plain connector socket on its own thread, one blocking
/// `recv` per event, timing each event of the asked kinds the moment `recv` returns.
/// Run alongside the watcher, it shows what the kernel and the machine's wakeups cost on
/// their own (on a VM, waking an idle CPU dominates).
final class RawListener: @unchecked Sendable {
    // @unchecked: `recorder` is written by the listener thread only; `stop` is atomic.
    private let socket: Int32
    private let kinds: Set<UInt32>
    let recorder: Recorder
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var started = false

    /// Listens for the cn_proc `what` values in `kinds` (1 fork, 2 exec, 0x80000000 exit).
    init(kinds: Set<UInt32>, capacity: Int) throws {
        let socket = Glibc.socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue), 11)  // NETLINK_CONNECTOR
        guard socket >= 0 else { throw RawListenerError.socket(errno) }
        var address = NetlinkAddress(groups: 1)  // CN_IDX_PROC
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<NetlinkAddress>.size)) }
        }
        guard bound == 0 else { throw RawListenerError.socket(errno) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)  // so stop() is noticed
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.socket = socket
        self.kinds = kinds
        recorder = Recorder(capacity: capacity)
        RawListener.releaseOnSignal(socket)
        send(operation: 1)  // LISTEN
    }

    func start() {
        started = true
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let listener = Unmanaged<RawListener>.fromOpaque(context!).takeRetainedValue()
            listener.loop()
            return nil
        }, context)
    }

    /// Stops the thread and sends IGNORE (never leave the kernel's listener count raised).
    /// Safe to call more than once.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        stopping.store(true, ordering: .relaxed)
        if started { pthread_join(thread, nil) }
        send(operation: 2)
        RawListener.signalSocket.store(-1, ordering: .relaxed)
        close(socket)
    }

    /// The socket a SIGINT/SIGTERM handler must release before the process dies by it.
    private static let signalSocket = Atomic<Int32>(-1)
    /// IGNORE, built once so the handler only calls `sendto` (async-signal-safe).
    nonisolated(unsafe) private static var ignoreMessage: [UInt8] = message(operation: 2)

    private static func releaseOnSignal(_ socket: Int32) {
        _ = ignoreMessage.count
        signalSocket.store(socket, ordering: .relaxed)
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                let socket = RawListener.signalSocket.exchange(-1, ordering: .relaxed)
                if socket >= 0 {
                    var kernel = NetlinkAddress(groups: 0)
                    RawListener.ignoreMessage.withUnsafeBytes { bytes in
                        _ = withUnsafePointer(to: &kernel) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                sendto(socket, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<NetlinkAddress>.size))
                            }
                        }
                    }
                }
                var restore = sigaction()
                sigaction(signal, &restore, nil)  // SIG_DFL
                raise(signal)
            }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopping.load(ordering: .relaxed) {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count >= 52 else { continue }  // nlmsghdr + cn_msg + proc_event header
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let what = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 36, as: UInt32.self) }
            let stamp = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 44, as: UInt64.self) }
            guard kinds.contains(what) else { continue }
            let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
            recorder.record(nanoseconds > stamp ? nanoseconds - stamp : 0)
        }
    }

    private func send(operation: UInt32) {
        let message = Self.message(operation: operation)
        var kernel = NetlinkAddress(groups: 0)
        _ = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &kernel) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<NetlinkAddress>.size))
                }
            }
        }
    }

    /// nlmsghdr + cn_msg + the 4-byte proc connector operation.
    private static func message(operation: UInt32) -> [UInt8] {
        var message = [UInt8]()
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { message.append(contentsOf: $0) } }
        put(UInt32(16 + 20 + 4)); put(UInt16(3)); put(UInt16(0)); put(UInt32(0)); put(UInt32(0))  // nlmsghdr
        put(UInt32(1)); put(UInt32(1)); put(UInt32(0)); put(UInt32(0)); put(UInt16(4)); put(UInt16(0))  // cn_msg
        put(operation)
        return message
    }
}

/// `struct sockaddr_nl` (linux/netlink.h, which Glibc's module does not bring in).
struct NetlinkAddress {
    var family = UInt16(AF_NETLINK)
    var padding: UInt16 = 0
    var portID: UInt32 = 0
    var groups: UInt32
}

enum RawListenerError: Error, CustomStringConvertible {
    case socket(Int32)
    var description: String {
        switch self {
        case .socket(let code): "connector socket: \(String(cString: strerror(code)))"
        }
    }
}
