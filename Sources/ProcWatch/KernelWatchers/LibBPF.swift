import CProcWatch
import Logging
import Synchronization

/// libbpf, loaded at run time (`dlopen("libbpf.so.1")` in the C shim).
///
/// Why not linked: a binary linked against libbpf would not even start on a machine
/// without it, and the connector needs none. Loaded on first use, the library is only a
/// requirement of the kernel-side watchers, and its absence is one more reason `auto`
/// falls back to the connector ("libbpf.so.1 not found").
struct LibBPF: @unchecked Sendable {
    // @unchecked: a pointer to the shim's table, written once (under pthread_once) and
    // read-only afterwards.
    let functions: UnsafePointer<procwatch_libbpf>

    /// The table, or why libbpf cannot be used.
    static func load() throws(ProcWatchError) -> LibBPF {
        var reason = [CChar](repeating: 0, count: 256)
        guard let table = procwatch_libbpf_load(&reason, reason.count) else {
            throw .kernelWatchersUnavailable(reason: String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return LibBPF(functions: table)
    }

    var table: procwatch_libbpf { functions.pointee }

    /// Routes libbpf's own messages (verifier logs, attach failures) to `logger` at debug
    /// level; libbpf would print them to standard error otherwise.
    static func route(to logger: Logger) {
        Self.logger.withLock { $0 = logger }
        procwatch_libbpf_set_log { _, message in
            guard let message else { return }
            let text = String(cString: message)
            LibBPF.logger.withLock { $0 }?.debug("libbpf: \(text.hasSuffix("\n") ? String(text.dropLast()) : text)")
        }
    }

    private static let logger = Mutex<Logger?>(nil)
}
