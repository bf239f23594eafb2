#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Synchronization

/// Makes sure the kernel hears IGNORE even when the process dies by a signal or `exit()`.
///
/// A proc connector socket closed without IGNORE leaves the kernel's listener count
/// raised until reboot, and the kernel then formats every process event for nobody.
/// While a subscription is active its descriptor is kept here, and:
///
/// - SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM, SIGUSR1 and SIGUSR2 get a handler
///   where their disposition is still the default (where they would kill the process
///   with no cleanup; a program that handles them itself stops its watchers instead):
///   it sends IGNORE — `sendto` is async-signal-safe — restores the default and raises
///   the signal again, so the process still dies by it.
/// - SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE and SIGABRT (a crash, e.g. a trap in a
///   watcher) get a handler that sends IGNORE and then hands over to whatever handled the
///   signal before (the Swift backtracer, or the default).
/// - An `atexit` handler covers a plain `exit()`.
///
/// A forked child inherits all of this and the socket itself; it must not switch off its
/// parent's subscription, so each descriptor is released only by the process that registered it.
enum SignalRelease {
    private final class Slot: Sendable {
        let descriptor = Atomic<Int32>(-1)
        let owner = Atomic<Int32>(0)
    }

    private static let slots: [Slot] = (0..<64).map { _ in Slot() }
    private static let installed = Mutex(false)
    private static let terminating: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2]
    private static let crashing: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT]
    /// The actions that were in place before ours, indexed by signal number.
    nonisolated(unsafe) private static let previous: UnsafeMutablePointer<sigaction> = {
        let actions = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
        actions.initialize(repeating: sigaction(), count: 65)
        return actions
    }()

    /// The IGNORE message, built once so the handlers never allocate.
    private static let ignoreMessage: [UInt8] = SubscriptionRequest.operation(.ignore, acknowledgement: 0)

    /// Registers a socket that must be released; returns its slot (nil if all are taken).
    static func register(_ descriptor: Int32) -> Int? {
        installHandlers()
        for (index, slot) in slots.enumerated() {
            if slot.descriptor.compareExchange(expected: -1, desired: -2, ordering: .sequentiallyConsistent).exchanged {
                slot.owner.store(getpid(), ordering: .sequentiallyConsistent)
                slot.descriptor.store(descriptor, ordering: .sequentiallyConsistent)
                return index
            }
        }
        return nil
    }

    /// Forgets a socket before it is closed. Returns false when a handler already took it
    /// (the process is exiting): then the caller must not close it, so the descriptor
    /// number cannot be reused under the handler's `sendto`.
    @discardableResult
    static func unregister(slot: Int?) -> Bool {
        guard let slot else { return true }
        return slots[slot].descriptor.exchange(-1, ordering: .sequentiallyConsistent) >= 0
    }

    /// Sends IGNORE on every socket this process registered. Async-signal-safe: no locks,
    /// no allocation.
    static func releaseAll() {
        let me = getpid()
        ignoreMessage.withUnsafeBytes { message in
            var kernel = sockaddr_nl()
            kernel.nl_family = sa_family_t(AF_NETLINK)
            for slot in slots where slot.owner.load(ordering: .sequentiallyConsistent) == me {
                let descriptor = slot.descriptor.exchange(-1, ordering: .sequentiallyConsistent)
                guard descriptor >= 0 else { continue }
                _ = withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, message.baseAddress, message.count, Int32(MSG_DONTWAIT), $0,
                               socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        }
    }

    private static func installHandlers() {
        installed.withLock { done in
            guard !done else { return }
            done = true
            _ = slots.count  // initialise the statics before a handler can run
            _ = ignoreMessage.count
            _ = previous
            atexit { SignalRelease.releaseAll() }
            for signal in terminating {
                var current = sigaction()
                guard sigaction(signal, nil, &current) == 0,
                      current.__sigaction_handler.sa_handler == nil  // SIG_DFL
                else { continue }
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { signal in
                    SignalRelease.releaseAll()
                    var restore = sigaction()
                    restore.__sigaction_handler.sa_handler = nil
                    sigaction(signal, &restore, nil)
                    raise(signal)
                }
                sigemptyset(&action.sa_mask)
                sigaction(signal, &action, nil)
            }
            for signal in crashing {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { signal in
                    SignalRelease.releaseAll()
                    // Hand over to the previous handler: a fault re-executes and reaches it;
                    // a raised signal (abort) is raised again.
                    sigaction(signal, SignalRelease.previous + Int(signal), nil)
                    if signal == SIGABRT || signal == SIGTRAP { raise(signal) }
                }
                sigemptyset(&action.sa_mask)
                action.sa_flags = Int32(SA_NODEFER)
                sigaction(signal, &action, previous + Int(signal))
            }
        }
    }
}
