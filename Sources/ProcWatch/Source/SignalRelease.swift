#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Synchronization

/// Makes sure the kernel hears IGNORE even when the process dies by a signal or `exit()`.
///
/// A proc connector socket closed without IGNORE leaves the kernel's listener count
/// raised until reboot, and the kernel then formats every process event for nobody.
/// While any subscription is active, the descriptors are kept here; a handler for
/// SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE (installed only where the signal's
/// disposition is still the default, i.e. where it would kill the process without any
/// cleanup) sends IGNORE on each — `sendto` is async-signal-safe — restores the default
/// and raises the signal again, so the process still dies by it. An `atexit` handler
/// does the same for a plain `exit()`.
enum SignalRelease {
    private final class Slot: Sendable {
        let descriptor = Atomic<Int32>(-1)
    }

    private static let slots: [Slot] = (0..<64).map { _ in Slot() }
    private static let installed = Mutex(false)
    private static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE]

    /// The IGNORE message, built once so the handler never allocates.
    private static let ignoreMessage: [UInt8] = SubscriptionRequest.operation(.ignore, acknowledgement: 0)

    /// Registers a socket that must be released; returns its slot (nil if all are taken).
    static func register(_ descriptor: Int32) -> Int? {
        installHandlers()
        for (index, slot) in slots.enumerated() {
            if slot.descriptor.compareExchange(expected: -1, desired: descriptor, ordering: .sequentiallyConsistent).exchanged {
                return index
            }
        }
        return nil
    }

    /// Forgets a socket (after it sent IGNORE itself).
    static func unregister(slot: Int?) {
        guard let slot else { return }
        slots[slot].descriptor.store(-1, ordering: .sequentiallyConsistent)
    }

    /// Sends IGNORE on every registered socket. Async-signal-safe: no locks, no allocation.
    static func releaseAll() {
        ignoreMessage.withUnsafeBytes { message in
            var kernel = sockaddr_nl()
            kernel.nl_family = sa_family_t(AF_NETLINK)
            for slot in slots {
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
            atexit { SignalRelease.releaseAll() }
            for signal in signals {
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
                action.sa_flags = 0
                sigaction(signal, &action, nil)
            }
        }
    }
}
