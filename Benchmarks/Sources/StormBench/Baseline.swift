/// The storm with no consumer at all: its forkers' own rate, the yardstick of what a
/// consumer costs the storm (the connector's sending, or the BPF programs running in the
/// forkers' own context). Baseline runs are interleaved with the consumer runs of the same
/// storm, so that the machine's noise hits both.
struct BaselineRun {
    var storm: Storm
    /// Its place in the run's sequence of consumer runs: it ran before consumer run `before`
    /// (1-based over the whole run; after the storm's last consumer: that index + 1).
    var before: Int
    var children = 0
    var seconds = 0.0
    /// The kernel's connector listener count was above zero (someone listened, or a leak):
    /// the kernel then builds and multicasts every event, which is not "no consumer".
    var listenerCountRaised = false
    var failure: String?

    var rate: Double { seconds > 0 ? Double(children) / seconds : 0 }

    /// Runs the storm's forkers alone.
    static func measure(_ storm: Storm, forkerExecutable: String, before: Int, listenerCountRaised: Bool) -> BaselineRun {
        var run = BaselineRun(storm: storm, before: before, listenerCountRaised: listenerCountRaised)
        let start = monotonicNow()
        do {
            run.children = try storm.runForkers(executable: forkerExecutable).children
            run.seconds = monotonicNow() - start
        } catch {
            run.failure = "forkers: \(error)"
        }
        return run
    }

    /// Does a baseline run go before consumer run `position` (0-based within its storm) of
    /// `count`, with one every `every` consumers? One goes first, after every `every`
    /// consumers, and after the last (position == count); none when `every` is 0.
    static func due(at position: Int, of count: Int, every: Int) -> Bool {
        every > 0 && (position % every == 0 || position == count)
    }

    /// Sets each measurement's baseline rate: the mean of the good baseline runs of its storm
    /// nearest before and after it (one side alone when the other has none).
    static func assign(_ baselines: [BaselineRun], to measurements: inout [Measurement]) {
        for offset in measurements.indices {
            let measurement = measurements[offset]
            let good = baselines.filter { $0.storm.name == measurement.storm.name && $0.failure == nil && $0.rate > 0 }
            let neighbours = [good.last { $0.before <= measurement.runIndex }, good.first { $0.before > measurement.runIndex }].compactMap { $0 }
            guard !neighbours.isEmpty else { continue }
            measurements[offset].baselineRate = neighbours.map(\.rate).reduce(0, +) / Double(neighbours.count)
        }
    }

    var json: JSON {
        .object([
            ("storm", .string(storm.name)),
            ("before_consumer_run", .int(before)),
            ("children", .int(children)),
            ("storm_seconds", .number(rounded(seconds, 3))),
            ("storm_children_per_second", .number(rounded(rate, 0))),
            ("listener_count_raised", .bool(listenerCountRaised)),
            ("failure", .optional(failure)),
        ])
    }
}
