/// How a task ended, decoded from the raw wait status the kernel sends in exit events.
public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// It called `exit(code)` or returned from `main` (`WIFEXITED`).
    case exited(Int32)
    /// A signal killed it (`WIFSIGNALED`); `core` when it dumped core (`WCOREDUMP`).
    case signaled(Int32, core: Bool)

    /// Decodes a raw wait status (`768` is `exit(3)`, `9` is SIGKILL, `139` SIGSEGV with core).
    public init(waitStatus: UInt32) {
        let signal = Int32(waitStatus & 0x7F)
        if signal == 0 {
            self = .exited(Int32((waitStatus >> 8) & 0xFF))
        } else {
            self = .signaled(signal, core: waitStatus & 0x80 != 0)
        }
    }

    /// True for `exit(0)`, the only status that counts as success.
    public var isSuccess: Bool { self == .exited(0) }

    /// `"exit 3"`, `"killed by SIGKILL"`, `"SIGSEGV (core dumped)"`.
    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal, let core):
            core ? "\(SignalName.of(signal)) (core dumped)" : "killed by \(SignalName.of(signal))"
        }
    }
}

/// Signal names for display, independent of the C library's `strsignal` wording.
public enum SignalName {
    private static let names = [
        "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ]

    /// `"SIGKILL"` for 9; `"SIGRTMIN+3"` for real-time signals; `"signal 99"` otherwise.
    public static func of(_ signal: Int32) -> String {
        if signal > 0, Int(signal) < names.count { return names[Int(signal)] }
        if signal >= 34, signal <= 64 { return "SIGRTMIN+\(signal - 34)" }
        return "signal \(signal)"
    }
}
