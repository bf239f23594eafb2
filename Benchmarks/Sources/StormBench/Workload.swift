import Glibc

/// Real work whose execs `storm-bench fidelity` watches: the two workloads of
/// `scripts/workload` and the exec storm of `storm-bench run`.
enum Workload: String, CaseIterable, Sendable {
    /// Two autoconf `configure` runs at once.
    case configure2
    /// Two shell loops at once, each 500 `/bin/true mark-T-I` and 100 `sh -c "exit K"`.
    case loops2
    /// The fork+exec storm: two forkers whose children exec /bin/true (no arguments).
    case execStorm = "exec-storm"
    /// The same with four forkers.
    case execStorm4 = "exec-storm4"

    /// Parallel forkers of an exec storm (nil: not one).
    var stormForkers: Int? {
        switch self {
        case .execStorm: 2
        case .execStorm4: 4
        case .configure2, .loops2: nil
        }
    }

    /// Where the generator is and what it may use.
    struct Setup {
        /// `scripts/workload`.
        var script: String
        /// Its `--dir`: generated files and build directories.
        var directory: String
        /// storm-bench itself, for the exec storm's forkers.
        var forker: String
        /// Forks per forker in the exec storm.
        var execStormCount: Int
    }

    /// Generates what the workload needs (autoconf's `configure`) before anyone watches: the
    /// generator's own execs must not count.
    func prepare(_ setup: Setup, log: String) throws {
        guard stormForkers == nil else { return }
        try runScript(setup, prepareOnly: true, log: log)
    }

    /// Runs the workload to its end; the generator's stdout goes to `log`, its stderr to
    /// `log`.err (configure's own logs stay in the setup's directory).
    func run(_ setup: Setup, log: String) throws {
        if let forkers = stormForkers {
            _ = try Storm(forkers: forkers, count: setup.execStormCount, exec: "/bin/true").runForkers(executable: setup.forker)
        } else {
            try runScript(setup, prepareOnly: false, log: log)
        }
    }

    private func runScript(_ setup: Setup, prepareOnly: Bool, log: String) throws {
        let argv = [setup.script, "--dir", setup.directory] + (prepareOnly ? ["--prepare"] : []) + [rawValue]
        let pid = try spawn(argv, stdout: .file(log), stderr: .file(log + ".err"))
        let end = waitFor(pid)
        guard end.exitedCleanly else {
            let output = readText(log + ".err").trimmingCharacters
            throw BenchError("\(argv.joined(separator: " ")) ended with \(end.description): \(output)")
        }
    }
}
