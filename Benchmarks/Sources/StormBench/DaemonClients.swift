import Glibc

/// One client of `procwatch daemon` in the fan-out benchmark: a thread that connects to the
/// daemon's socket, selects the benchmark's own process tree (so that every client is owed
/// exactly the same events: the storm's), and reads until the daemon closes or it is told to
/// stop. A slow client reads a little and then sleeps, so that its queue at the daemon fills.
final class DaemonClient: @unchecked Sendable {
    // @unchecked: the counters are written by the client's thread and read after `join`.
    let index: Int
    let slow: Bool
    private let socketPath: String
    private let root: pid_t
    private var thread = pthread_t()
    private var fd: Int32 = -1
    /// Events received (lines after the answer), `lost` lines excluded.
    private(set) var events = 0
    /// Whether the counts are final: lines that arrive later are not counted.
    private var frozen = false

    /// Stops counting (racy with the reading thread by one line at most, which the quiet
    /// stream before the call rules out).
    func freezeCounts() { frozen = true }

    /// Lines received so far, read from another thread while this one reads (racy, for
    /// telling when the stream has gone quiet only).
    var receivedSoFar: Int { events + lost.count }
    /// The counts of `lost` lines by reason, and how many such lines gave no count.
    private(set) var lost: [String: Int] = [:]
    private(set) var uncountedLoss = 0
    private(set) var failure: String?
    private(set) var answer = ""

    init(index: Int, slow: Bool, socketPath: String, root: pid_t) {
        self.index = index
        self.slow = slow
        self.socketPath = socketPath
        self.root = root
    }

    /// Connects, reads the hello, sends the selection and waits for the answer; nil when
    /// all went well, else why not.
    func connect() -> String? {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(socketPath.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return "connect \(socketPath): \(String(cString: strerror(errno)))" }
        guard readLine() != nil else { return "no hello" }
        let selection = "{\"protocol\":1,\"events\":[\"all\"],\"trees\":[\(root)]}\n"
        _ = selection.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        guard let reply = readLine() else { return "no answer" }
        answer = reply
        return reply.hasPrefix("{\"ok\":true") ? nil : "answer: \(reply)"
    }

    private var pending: [UInt8] = []

    /// One line read byte-wise before streaming starts (the hello and the answer).
    private func readLine() -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            if byte == 0x0A { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }

    /// Starts reading on a thread of its own.
    func start() {
        let unmanaged = Unmanaged.passRetained(self)
        pthread_create(&thread, nil, { context in
            let client = Unmanaged<DaemonClient>.fromOpaque(context!).takeRetainedValue()
            client.readAll()
            return nil
        }, unmanaged.toOpaque())
    }

    /// Stops reading (shuts the socket down) and waits for the thread.
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        pthread_join(thread, nil)
        close(fd)
    }

    private func readAll() {
        var buffer = [UInt8](repeating: 0, count: slow ? 4096 : 1 << 18)
        var line: [UInt8] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return }
            for byte in buffer[0..<count] {
                if byte != 0x0A {
                    // Only a `lost` line is ever looked into, and it starts with this prefix.
                    if line.count < 512 { line.append(byte) }
                    continue
                }
                if frozen {
                } else if line.starts(with: Array("{\"event\":\"lost\"".utf8)) {
                    countLoss(String(decoding: line, as: UTF8.self))
                } else {
                    events += 1
                }
                line.removeAll(keepingCapacity: true)
            }
            if slow { usleep(2_000) }
        }
    }

    private func countLoss(_ line: String) {
        let reason = field("reason", in: line) ?? "?"
        if let count = field("count", in: line).flatMap({ Int($0) }) { lost[reason, default: 0] += count } else { uncountedLoss += 1 }
    }

    /// The value of `"name":` in a flat JSON line, unquoted.
    private func field(_ name: String, in line: String) -> String? {
        let key = Array("\"\(name)\":".utf8)
        let bytes = Array(line.utf8)
        guard bytes.count >= key.count,
              let start = (0...(bytes.count - key.count)).first(where: { bytes[$0..<($0 + key.count)].elementsEqual(key) })
        else { return nil }
        let value = bytes[(start + key.count)...].prefix { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "}") }
        return String(decoding: value, as: UTF8.self).trimmingCharacters(in: ["\""])
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
