import Glibc
import Synchronization

/// How long a condition may take by default. Generous: a condition that holds returns at
/// once, and on two cores the tests that block cooperative-pool threads (waiting on real
/// processes and daemons) can hold up every task for many seconds (19 s seen in CI).
let eventuallyTimeout = Duration.seconds(30)

/// Polls `condition` every millisecond until it holds or `timeout` passes.
@discardableResult
func eventually(timeout: Duration = eventuallyTimeout, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// A thread-safe list the reader thread appends to and a test reads.
final class Recorder<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    func append(_ element: Element) { storage.withLock { $0.append(element) } }
    var all: [Element] { storage.withLock { $0 } }
    var count: Int { storage.withLock { $0.count } }
}

/// The async form: sleeps between polls instead of blocking a cooperative-pool thread
/// (on two cores, two blocked tests would starve the tasks they wait for).
@discardableResult
func eventually(timeout: Duration = eventuallyTimeout, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return condition()
}
