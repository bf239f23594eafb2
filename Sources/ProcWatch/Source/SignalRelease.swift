#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Netlink
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
///
/// IGNORE must be the last request the kernel sees from a socket: a LISTEN (or a filter,
/// which is a LISTEN too) that lands after it raises the count again, for good. So every
/// request that can raise the count goes through ``sendRaising(slot:_:)``, which marks the
/// slot busy for the length of the `sendto`; whoever releases (a handler, `atexit`, the
/// normal close) first closes the slot to new requests, then waits out the one in flight.
enum SignalRelease {
    private final class Slot: Sendable {
        let descriptor = Atomic<Int32>(-1)
        let owner = Atomic<Int32>(0)
        /// The thread id sending a count-raising request on this slot, or 0.
        let sender = Atomic<Int32>(0)
        /// Set by the normal close: no count-raising request may go out any more.
        let closing = Atomic<Bool>(false)

        /// Spins until no count-raising request is in flight on another thread. Bounded by
        /// one `sendto` to the kernel; the sender cannot be this thread's interrupted self,
        /// because the sender blocks the terminating signals while it is marked.
        func waitForSender() {
            let me = procwatch_gettid()
            while true {
                let sender = sender.load(ordering: .sequentiallyConsistent)
                if sender == 0 || sender == me { return }
                sched_yield()
            }
        }
    }

    private static let slots: [Slot] = (0..<64).map { _ in Slot() }
    /// Set by ``releaseAll()`` before it walks the slots: from then on no count-raising
    /// request goes out on any slot, including one registered after the walk passed it
    /// (a second socket, like the exec doorbell, opening on another thread while a
    /// signal handler runs).
    private static let exiting = Atomic<Bool>(false)
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
                slot.closing.store(false, ordering: .sequentiallyConsistent)
                slot.descriptor.store(descriptor, ordering: .sequentiallyConsistent)
                return index
            }
        }
        return nil
    }

    /// Sends a request that can raise the listener count (LISTEN, a filter) so that no
    /// IGNORE can overtake it: skipped once the slot is being released, and marked while
    /// in flight so a release waits for it. Without a slot (a scripted kernel, or all
    /// slots taken) it just sends.
    static func sendRaising<Failure: Error>(slot: Int?, _ send: () throws(Failure) -> Void) throws(Failure) {
        guard let slot else { return try send() }
        let entry = slots[slot]
        // A terminating signal must not interrupt this thread while it is marked: its
        // handler would wait for itself.
        var terminatingSignals = sigset_t()
        sigemptyset(&terminatingSignals)
        for signal in terminating { sigaddset(&terminatingSignals, signal) }
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &terminatingSignals, &previousMask)
        defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }
        entry.sender.store(procwatch_gettid(), ordering: .sequentiallyConsistent)
        defer { entry.sender.store(0, ordering: .sequentiallyConsistent) }
        guard !exiting.load(ordering: .sequentiallyConsistent),
              !entry.closing.load(ordering: .sequentiallyConsistent),
              entry.descriptor.load(ordering: .sequentiallyConsistent) >= 0 else { return }
        try send()
    }

    /// Closes a slot to count-raising requests and waits out the one in flight, so the
    /// caller's IGNORE is the last word. Call before sending IGNORE, then ``unregister(slot:)``.
    static func beginRelease(slot: Int?) {
        guard let slot else { return }
        slots[slot].closing.store(true, ordering: .sequentiallyConsistent)
        slots[slot].waitForSender()
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
        // Before the walk: a sender that has not yet checked this flag will see it; one
        // that has is already marked in its slot, and the walk waits for it.
        exiting.store(true, ordering: .sequentiallyConsistent)
        ignoreMessage.withUnsafeBytes { message in
            for slot in slots where slot.owner.load(ordering: .sequentiallyConsistent) == me {
                let descriptor = slot.descriptor.exchange(-1, ordering: .sequentiallyConsistent)
                guard descriptor >= 0 else { continue }
                slot.waitForSender()
                NetlinkSocket.sendToKernelFromSignalHandler(descriptor: descriptor, message)
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
