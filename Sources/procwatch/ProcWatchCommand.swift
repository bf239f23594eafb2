import ArgumentParser
import Dispatch
import ProcWatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch`: the live event view. (Flags beyond these arrive with the CLI issue.)
@main
struct ProcWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "procwatch",
        abstract: "Show what every process on this host does, as it happens.",
        discussion: """
            Streams the kernel's process events (fork, exec, uid, gid, sid, ptrace, comm, \
            coredump, exit) one line each, until Ctrl-C, SIGTERM or -D.

            Examples:
              procwatch                      every event
              procwatch -e exec,exit -D 10   execs and exits for ten seconds
            """)

    @Option(name: .short, help: ArgumentHelp(
        "Comma-separated event kinds: fork, exec, uid, gid, sid, ptrace, comm, coredump, exit, failed_exit, all.",
        valueName: "LIST"))
    var events: String = "all"

    @Option(name: .customShort("D"), help: ArgumentHelp("Stop after this many seconds.", valueName: "SECONDS"))
    var duration: Double?

    func validate() throws {
        _ = try parsedKinds()
        if let duration, !(duration > 0) { throw ValidationError("-D takes a positive number of seconds, not \(duration)") }
    }

    func parsedKinds() throws -> ProcessEventKinds {
        var kinds = ProcessEventKinds()
        for name in events.split(separator: ",").map({ $0.trimmingCharacters() }) {
            if name == "all" { kinds.formUnion(.all); continue }
            guard let match = ProcessEventKinds.named.first(where: { $0.name == name }) else {
                throw ValidationError("unknown event '\(name)'; known: \(ProcessEventKinds.named.map(\.name).joined(separator: ", ")), all")
            }
            kinds.formUnion(match.kind)
        }
        if kinds.isEmpty { throw ValidationError("-e needs at least one event kind") }
        return kinds
    }

    func run() async throws {
        let kinds = try parsedKinds()
        // Signal handling is in place before the subscription starts: a SIGINT that arrived
        // between the two would otherwise be ignored and the watch would never end.
        let stop = StopSignal()
        let signals = [SIGINT, SIGTERM].map { signal -> DispatchSourceSignal in
            Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal)
            source.setEventHandler { stop.fire() }
            source.resume()
            return source
        }
        let stopper = Task {
            for try await event in ProcessEvents(kinds) {
                FileHandleOutput.standardOutput(TextLine.render(event))
            }
        }
        stop.onFire { stopper.cancel() }
        if let duration {
            Task {
                try await Task.sleep(for: .milliseconds(Int(duration * 1000)))
                stopper.cancel()
            }
        }
        do {
            try await stopper.value
        } catch let error as ProcWatchError where error != .cancelled {
            FileHandleOutput.standardError("procwatch: \(error)")
            signals.forEach { $0.cancel() }
            throw ExitCode(2)
        } catch {}
        signals.forEach { $0.cancel() }
    }
}

/// A one-shot stop request that may fire before anyone listens for it.
final class StopSignal: Sendable {
    private let state = Mutex<(fired: Bool, action: (@Sendable () -> Void)?)>((false, nil))

    func fire() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.fired = true
            return state.action
        }
        action?()
    }

    func onFire(_ action: @escaping @Sendable () -> Void) {
        let firedAlready = state.withLock { state -> Bool in
            state.action = action
            return state.fired
        }
        if firedAlready { action() }
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()) }
}

enum FileHandleOutput {
    /// Writes a line with one write(2), so piped output is line-buffered and nothing is
    /// left in a stdio buffer when the process stops.
    static func standardOutput(_ line: String) {
        var text = line
        text.append("\n")
        _ = text.withCString { write(1, $0, strlen($0)) }
    }


    static func standardError(_ line: String) {
        var text = line
        text.append("\n")
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
