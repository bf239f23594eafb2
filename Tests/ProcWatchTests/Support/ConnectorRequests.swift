import Glibc

/// The proc connector requests a command sent (LISTEN, IGNORE), as strace saw them.
///
/// ``ListenerProbe`` reads the kernel's listener count, which is one number for the whole
/// host: any other listener on the machine while a test runs (a second test run, a user's
/// procwatch or forkstat) makes a released subscription look leaked, and a repair made
/// then takes the count below zero. What one process sent is its own: a LISTEN followed
/// by an IGNORE on the same socket gives back exactly what it took, whoever else listens.
enum ConnectorRequests {
    enum Operation: Equatable, CustomStringConvertible {
        case listen, ignore
        case other(UInt32)

        init(_ code: UInt32) {
            switch code {
            case 1: self = .listen
            case 2: self = .ignore
            default: self = .other(code)
            }
        }

        var description: String {
            switch self {
            case .listen: "LISTEN"
            case .ignore: "IGNORE"
            case .other(let code): "op \(code)"
            }
        }
    }

    /// One request: the descriptor of the socket it went out on, and the operation.
    struct Request: Equatable {
        var socket: Int32
        var operation: Operation
    }

    /// Runs `argv` under `strace -f` (threads and children; only `sendto`/`sendmsg` stop,
    /// through a seccomp filter) and returns what it printed and every connector request
    /// it sent, in order.
    static func capture(_ argv: [String]) throws -> (run: (pid: Int32, status: Int32, stdout: String, stderr: String),
                                                      requests: [Request]) {
        let log = "/tmp/procwatch-requests-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).strace"
        defer { unlink(log) }
        let run = try Spawn.capture(["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=sendto,sendmsg", "-e", "signal=none",
                                     "-xx", "-s", "64", "-o", log] + argv)
        let text = String(decoding: try LiveKernelTests.ReadmeExampleTests.readFile(log), as: UTF8.self)
        return (run, text.split(separator: "\n").compactMap { request(inStraceLine: $0) })
    }

    /// Each socket's requests in order (sockets by descriptor), repeats collapsed: a second
    /// LISTEN on a socket (a filter is one) does not raise the listener count again, and a
    /// second IGNORE (procwatch's `atexit` handler and its reader may both send one) does
    /// not lower it again. A socket that gave back what it took reads `[LISTEN, IGNORE]`.
    static func perSocket(_ requests: [Request]) -> [[Operation]] {
        var sockets: [Int32: [Operation]] = [:]
        for request in requests where sockets[request.socket]?.last != request.operation {
            sockets[request.socket, default: []].append(request.operation)
        }
        return sockets.keys.sorted().map { sockets[$0]! }
    }

    /// The request in one strace line of a connector message (`TID  sendto(FD, [nlmsghdr of
    /// type NLMSG_DONE, then cn_msg {CN_IDX_PROC, CN_VAL_PROC}, then a 4-byte op or an 8-byte
    /// proc_input]`).
    static func request(inStraceLine line: Substring) -> Request? {
        guard line.contains("nlmsg_type=NLMSG_DONE"), let open = line.range(of: "}, \""),
              let call = line.range(of: "(") else { return nil }
        guard let socket = Int32(line[call.upperBound...].prefix { $0.isNumber }) else { return nil }
        let hex = line[open.upperBound...].prefix { $0 != "\"" }
        var bytes: [UInt8] = []
        for part in hex.split(separator: "\\", omittingEmptySubsequences: true) {
            guard part.hasPrefix("x"), let byte = UInt8(part.dropFirst(), radix: 16) else { return nil }
            bytes.append(byte)
        }
        func word(_ offset: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
        }
        // cn_msg: idx, val, seq, ack (4 bytes each), len and flags (2 each); the op follows.
        guard bytes.count >= 24, word(0) == 1, word(4) == 1 else { return nil }
        return Request(socket: socket, operation: Operation(word(20)))
    }
}
