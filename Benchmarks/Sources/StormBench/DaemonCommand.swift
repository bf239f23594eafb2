import ArgumentParser
import Glibc

/// `storm-bench daemon`: `procwatch daemon` serving many clients through a fork storm.
///
/// The daemon runs the storm twice, in one run: first with no client (its own cost: the
/// source, the history), then with `--clients` clients connected, `--slow` of them reading
/// slowly. Every client selects this benchmark's process tree, so each is owed exactly the
/// storm's events: a fast client must receive all of them and no loss; a slow one what it
/// received plus the `backlog` counts of its `lost` events must add up to the same number.
/// The difference of the daemon's CPU between the two storms, per storm event and per
/// client, is the fan-out's cost. The daemon's peak RSS is read at the end.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "procwatch daemon's fan-out: exact delivery to fast clients, exact loss counts to slow ones, CPU per event per client, RSS.")

    @Option(help: "The procwatch binary (procwatch-store beside it).")
    var procwatch: String

    @Option(help: "Clients connected during the second storm.")
    var clients = 100

    @Option(help: "How many of them read slowly.")
    var slow = 10

    @Option(help: "Children per forker (two forkers; two events per child).")
    var count = 20_000

    @Option(help: "The daemon's --source.")
    var source = "auto"

    @Option(help: "Write the result as JSON to this file.")
    var json: String?

    func run() throws {
        let directory = try outputDirectory(keep: nil, prefix: "storm-bench-daemon")
        let socketPath = directory + "/procwatch.sock"
        let daemon = try spawn([procwatch, "daemon", "--state-dir", directory + "/state", "--socket", socketPath, "--source", source],
                               stdout: .devNull, stderr: .file(directory + "/daemon.log"))
        defer {
            kill(daemon, SIGTERM)
            _ = waitFor(daemon)
        }
        // Ready when its socket answers.
        let deadline = monotonicNow() + 30
        var probe = DaemonClient(index: -1, slow: false, socketPath: socketPath, root: getpid())
        while probe.connect() != nil {
            guard monotonicNow() < deadline else { throw BenchError("the daemon did not come up: " + readText(directory + "/daemon.log")) }
            sleepSeconds(0.2)
            probe = DaemonClient(index: -1, slow: false, socketPath: socketPath, root: getpid())
        }
        probe.start()
        probe.stop()
        _ = waitUntilIdle(daemon)
        let forker = readLink("/proc/self/exe") ?? CommandLine.arguments[0]
        let storm = Storm(forkers: 2, count: count, exec: nil)

        // 1. No client: the daemon's own cost.
        let alone = try measure(daemon: daemon) { _ = try storm.runForkers(executable: forker) }

        guard clients > 0 else {
            print("daemon: storm of \(4 * count) events; daemon CPU \(alone.ticks) ticks with no client; peak RSS \((peakRSSKiB(of: daemon) ?? 0) / 1024) MiB")
            return
        }

        // 2. With the clients.
        let connected = (0..<clients).map { DaemonClient(index: $0, slow: $0 < slow, socketPath: socketPath, root: getpid()) }
        // All connect first, then their threads start: each thread's creation is an event of
        // this process's tree, which every client must be owed alike.
        for client in connected {
            if let failure = client.connect() { throw BenchError("client \(client.index): \(failure)") }
        }
        connected.forEach { $0.start() }
        var made = 0
        let served = try measure(daemon: daemon) { made = try storm.runForkers(executable: forker).children }
        // The slow ones catch up: wait until every client has stopped receiving.
        var last = -1
        while true {
            sleepSeconds(1)
            let now = connected.reduce(0) { $0 + $1.receivedSoFar }
            if now == last { break }
            last = now
        }
        // Counted before any client stops: a stopping client's thread exits, an event of
        // this tree that the others would receive.
        connected.forEach { $0.freezeCounts() }
        connected.forEach { $0.stop() }
        let peakKiB = peakRSSKiB(of: daemon) ?? 0

        // Owed to each client: the forkers' spawn (fork, exec), their children's forks and
        // exits, the forkers' exits — the same for all; the fast clients say how many.
        let fast = connected.filter { !$0.slow }
        let owed = fast.map(\.events).max() ?? 0
        var problems: [String] = []
        for client in fast where client.events != owed || !client.lost.isEmpty || client.uncountedLoss > 0 {
            problems.append("fast client \(client.index): \(client.events) events of \(owed), lost \(client.lost), \(client.uncountedLoss) uncounted")
        }
        var slowSummary: [String] = []
        for client in connected where client.slow {
            let backlog = client.lost["backlog"] ?? 0
            let other = client.lost.filter { $0.key != "backlog" }
            if client.events + backlog != owed || !other.isEmpty || client.uncountedLoss > 0 {
                problems.append("slow client \(client.index): \(client.events) received + \(backlog) lost (backlog) != \(owed); other losses \(other)")
            }
            slowSummary.append("\(client.events)+\(backlog)")
        }
        let stormEvents = 2 * made
        if owed < stormEvents { problems.append("the fast clients received \(owed) events, fewer than the storm's \(stormEvents)") }
        let extraTicks = served.ticks - alone.ticks
        let perEventPerClientMicroseconds = Double(extraTicks) * 1e6 / Double(sysconf(Int32(_SC_CLK_TCK))) / Double(stormEvents * clients)
        print("daemon: storm of \(stormEvents) events; daemon CPU \(alone.ticks) ticks with no client, \(served.ticks) with \(clients)")
        print("daemon: fan-out \(String(format1(perEventPerClientMicroseconds))) µs of daemon CPU per event per client (target ≤ 1)")
        print("daemon: \(fast.count) fast clients received \(owed) events each, none lost; slow clients received+lost: \(slowSummary.joined(separator: " "))")
        print("daemon: peak RSS \(peakKiB / 1024) MiB with \(clients) clients (target < 64)")
        if let json {
            let body = "{\"storm_events\":\(stormEvents),\"clients\":\(clients),\"slow\":\(slow),\"ticks_alone\":\(alone.ticks),"
                + "\"ticks_served\":\(served.ticks),\"fanout_us_per_event_per_client\":\(perEventPerClientMicroseconds),"
                + "\"owed\":\(owed),\"peak_rss_kib\":\(peakKiB),\"problems\":\(problems.count)}\n"
            try writeText(body, to: json)
        }
        if !problems.isEmpty {
            problems.forEach { print("daemon: FAIL: \($0)") }
            throw ExitCode(1)
        }
        print("daemon: PASS")
    }

    /// The daemon's CPU ticks spent on `work` and until it is idle again.
    private func measure(daemon: pid_t, _ work: () throws -> Void) throws -> (ticks: Int, Void) {
        let before = cpuTicks(of: daemon) ?? 0
        try work()
        _ = waitUntilIdle(daemon)
        return ((cpuTicks(of: daemon) ?? 0) - before, ())
    }
}

/// `value` with one decimal.
private func format1(_ value: Double) -> String {
    let tenths = Int((value * 100).rounded())
    return "\(tenths / 100).\(String(tenths % 100).count == 1 ? "0" : "")\(tenths % 100)"
}
