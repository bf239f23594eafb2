import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP: reads the configuration file again (with the same flags over it), applies what can
/// change while running — retention, the events recorded, the queue of new clients — and
/// says in one log line what changed and what waits for a restart. A bad file is refused
/// like at start, in one line, and the running settings stay.
final class ReloadService: Service {
    private let configuration: DaemonConfiguration
    private let signals: UnixSignalsSequence
    private let apply: @Sendable (DaemonSettings) -> Void
    private let notifier: SystemdNotifier?
    private let logger: Logger

    /// Traps SIGHUP at once (before the kernel subscription starts: the library would
    /// otherwise end the process on a SIGHUP it found at its default action).
    init(configuration: DaemonConfiguration, notifier: SystemdNotifier?, logger: Logger,
         apply: @escaping @Sendable (DaemonSettings) -> Void) async {
        self.configuration = configuration
        self.notifier = notifier
        self.logger = logger
        self.apply = apply
        signals = await UnixSignalsSequence(trapping: .sighup)
    }

    func run() async throws {
        // The settings in effect: the start's, with what reloads applied.
        var running = configuration.settings
        for await _ in signals.cancelOnGracefulShutdown() {
            try? notifier?.reloading(status: "reloading \(configuration.path)")
            do {
                let reloaded = try configuration.reloaded().settings
                logger.notice("\(DaemonConfiguration.reloadLine(path: configuration.path, from: running, to: reloaded))")
                running = running.applyingReloadable(from: reloaded)
                apply(running)
            } catch {
                logger.error("reload refused, the running settings stay: \(error)")
            }
            try? notifier?.ready(status: "running")
        }
    }
}
