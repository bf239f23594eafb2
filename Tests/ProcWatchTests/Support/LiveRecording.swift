import Glibc
@testable import ProcWatch

/// Records every event the real kernel sends while a test runs.
final class LiveRecording: Sendable {
    let source: ProcessEventSource
    let watchers: ProcessWatchers
    let recorder = Recorder<ProcessEvent>()

    init(_ kinds: ProcessEventKinds = .all, configuration: ProcessEventSource.Configuration = .init()) throws {
        source = ProcessEventSource(configuration: configuration)
        watchers = ProcessWatchers(source: source)
        let recorder = self.recorder
        watchers.on(kinds) { recorder.append($0) }
        try watchers.start()
    }

    deinit { watchers.stop() }

    /// Events whose subject (for fork: the child) belongs to process `pid`.
    func events(of pid: Int32) -> [ProcessEvent] { recorder.all.filter { $0.subject?.pid == pid } }

    /// Waits until the events of `pid` satisfy `condition`, then returns them.
    @discardableResult
    func wait(for pid: Int32, timeout: Duration = .seconds(5), until condition: ([ProcessEvent]) -> Bool) -> [ProcessEvent] {
        eventually(timeout: timeout) { condition(events(of: pid)) }
        return events(of: pid)
    }

    /// Waits for the exit event of `pid`'s main thread and returns all its events.
    func waitForExit(of pid: Int32) -> [ProcessEvent] {
        wait(for: pid) { events in
            events.contains { if case .exit(let task, _, _, _) = $0.detail { !task.isThread } else { false } }
        }
    }
}
