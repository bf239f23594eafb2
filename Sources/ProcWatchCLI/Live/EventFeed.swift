import ArgumentParser
import ProcWatch
#if canImport(Glibc)
import Glibc
#endif

/// Where a watching command's enriched events come from: the kernel, through the library's
/// source (which enriches them itself), or `procwatch daemon`, whose lines carry what its
/// own source enriched. Either way they reach the same consumers (``LiveSession``).
package enum EventFeed {
    /// The kernel. `daemonIfRefused`: the daemon to use instead when the kernel refuses this
    /// user's subscription and that daemon's socket exists (neither `--source` nor
    /// `--connect` given).
    case kernel(ProcessEventSource, daemonIfRefused: DaemonRequest?)
    /// The daemon, asked for with `--connect`.
    case daemon(DaemonRequest)
}

/// A daemon to connect to, and what to select there.
package struct DaemonRequest: Sendable {
    /// The socket's path.
    var path: String
    /// What the command's options select.
    var selection: DaemonSelection

    /// Whether a socket is there to try (auto-use never turns a missing daemon into an error
    /// of its own: the kernel's refusal stays the line the user sees).
    var socketExists: Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Connects and has `selection` accepted; on failure, says why in one line and exits
    /// with the failure's status.
    func connect() throws -> DaemonClient {
        do { return try DaemonClient(path: path, selection: selection) } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(error.exitStatus)
        }
    }
}

extension SourceOptions {
    /// The feed the options ask for: `--connect`'s daemon, or the kernel through `source`
    /// (with the default daemon as the fallback when neither `--source` nor `--connect`
    /// chose). `selection` is only built when a daemon may be asked.
    func feed(source: ProcessEventSource, selection: () throws(DaemonClientError) -> DaemonSelection) throws -> EventFeed {
        do {
            if let connect { return .daemon(DaemonRequest(path: connect, selection: try selection())) }
            if self.source == nil { return .kernel(source, daemonIfRefused: DaemonRequest(path: Self.defaultSocket, selection: try selection())) }
        } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(error.exitStatus)
        }
        return .kernel(source, daemonIfRefused: nil)
    }
}
