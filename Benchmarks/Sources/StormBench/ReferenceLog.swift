/// One successful exec as the bpftrace reference (`scripts/exec-argv.bt`) saw it.
struct ReferenceExec {
    /// When its execve returned, CLOCK_MONOTONIC ns (the clock of procwatch's `ktime_ns`).
    var time: Int
    var pid: Int
    /// arg_end - arg_start: the whole argv block, NULs included.
    var length: Int
    /// tgids of its parent, grandparent, … (as many as the script records).
    var ancestors: [Int]
    /// The command line; nil when the reference could not read its argv block (a read
    /// failed, or pieces were lost). When `truncated`, the first `ReferenceLog.argvLimit`
    /// bytes: the last element is then a prefix.
    var argv: [String]?
    var truncated: Bool { length > ReferenceLog.argvLimit }

    var program: String? { argv?.first.map(basename) }
}

/// The reference's output, read back: every exec, background included (a consumer's view
/// of a pid counts every exec of it, so matching by order needs them all).
struct ReferenceLog {
    /// What the script sends of one argv block: 32 pieces of 128 bytes (see its header).
    static let argvLimit = 4096

    var execs: [ReferenceExec] = []
    /// Events bpftrace reported lost (perf buffer full): "Lost N events" lines.
    var lostEvents = 0
    /// X records whose argv pieces did not add up, or that could not be parsed.
    var malformed = 0

    /// Parses `bytes` (the script's stdout). `bootToMonotonic` is CLOCK_BOOTTIME minus
    /// CLOCK_MONOTONIC in ns: bpftrace 0.17's nsecs is boot time.
    init(_ bytes: [UInt8], bootToMonotonic: Int) {
        struct Key: Hashable { var time: Int; var tid: Int }
        var headers: [(key: Key, pid: Int, length: Int, ancestors: [Int])] = []
        var pieces: [Key: [(offset: Int, bytes: [UInt8])]] = [:]
        forEachLine(bytes) { raw in
            let line = ByteLine(raw)
            let tokens = line.tokens(limit: 24)
            guard let kind = tokens.first.map({ line.text($0) }) else { return }
            switch kind {
            case "X":
                let numbers = tokens.dropFirst().map { Int(line.text($0)) }
                guard numbers.count >= 4, let time = numbers[0], let pid = numbers[1], let tid = numbers[2], let length = numbers[3] else {
                    malformed += 1
                    return
                }
                let ancestors = numbers.dropFirst(4).compactMap { $0 }.filter { $0 != 0 }
                headers.append((Key(time: time, tid: tid), pid, length, ancestors))
            case "A":
                guard tokens.count >= 5, let time = Int(line.text(tokens[1])), let tid = Int(line.text(tokens[2])),
                      let offset = Int(line.text(tokens[3])), let data = Self.unescapeHex(line, from: tokens[4].lowerBound) else {
                    malformed += 1
                    return
                }
                pieces[Key(time: time, tid: tid), default: []].append((offset, data))
            case "Lost":
                if tokens.count >= 2, let count = Int(line.text(tokens[1])) { lostEvents += count }
            default:
                return
            }
        }
        for header in headers {
            let argv = Self.assemble(pieces[header.key] ?? [], length: header.length)
            if argv == nil && header.length > 0 { malformed += 1 }
            execs.append(ReferenceExec(time: header.key.time - bootToMonotonic, pid: header.pid, length: header.length,
                                       ancestors: header.ancestors, argv: argv))
        }
        execs.sort { $0.time < $1.time }
    }

    /// The argv block from its pieces, split at NULs: nil unless the pieces cover its first
    /// min(length, argvLimit) bytes, and none of them is all zero bytes (what bpftrace's
    /// buf() holds when the read failed).
    static func assemble(_ pieces: [(offset: Int, bytes: [UInt8])], length: Int) -> [String]? {
        let wanted = min(length, argvLimit)
        guard wanted > 0 else { return nil }
        var block = [UInt8](repeating: 0, count: wanted)
        var covered = [Bool](repeating: false, count: wanted)
        for piece in pieces {
            guard piece.offset >= 0, piece.offset + piece.bytes.count <= wanted,
                  piece.bytes.contains(where: { $0 != 0 }) else { return nil }
            block.replaceSubrange(piece.offset..<(piece.offset + piece.bytes.count), with: piece.bytes)
            for index in piece.offset..<(piece.offset + piece.bytes.count) { covered[index] = true }
        }
        guard !covered.contains(false) else { return nil }
        var arguments = block.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        // A whole block ends with the last argument's NUL: drop the empty piece after it.
        // A truncated block ends inside an argument, which stays as a prefix.
        if length <= argvLimit, block.last == 0 { arguments.removeLast() }
        return arguments
    }

    /// `\x2f\x62…` (bpftrace's %rx) from byte `start` of the line to its end.
    static func unescapeHex(_ line: ByteLine, from start: Int) -> [UInt8]? {
        let bytes = line.bytes
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count - start) / 4)
        var at = start
        while at + 4 <= bytes.count {
            guard bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "x"),
                  let high = hexValue(bytes[at + 2]), let low = hexValue(bytes[at + 3]) else { return nil }
            out.append(high << 4 | low)
            at += 4
        }
        return at == bytes.count ? out : nil
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The part of a path after its last `/`.
func basename(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}
