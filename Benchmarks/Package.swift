// swift-tools-version: 6.1
import PackageDescription

// Benchmarks for procwatch, kept out of the main package so that its users never
// resolve the benchmark dependencies.
//
// - `storm-bench`: the end-to-end fork-storm benchmark (driven by `scripts/bench-storm`).
//   It measures procwatch as a separate process, next to forkstat and a minimal C
//   consumer (`Floor/naive-consumer.c`), so it deliberately does not link ProcWatch.
// - `latency-bench`: kernel timestamp to watcher, idle and under a storm, next to a plain
//   blocking `recv` in the same run (links ProcWatch).
// - `fleet-bench`: the fleet sink's batch writer (its SPI) sending the same batches into a
//   PostgreSQL by COPY and by multi-row INSERT, interleaved (driven by `scripts/bench-fleet`).
// - `ProcWatchMicro`: micro-benchmarks with ordo-one/benchmark (mallocs per event):
//   `swift package --disable-sandbox benchmark` in this directory.
let package = Package(
    name: "procwatch-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named: a path dependency's identity is otherwise its directory's name, which
        // differs between clones.
        .package(name: "procwatch", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "storm-bench",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/StormBench"
        ),
        .executableTarget(
            name: "latency-bench",
            dependencies: [
                .product(name: "ProcWatch", package: "procwatch"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/LatencyBench"
        ),
        .executableTarget(
            name: "fleet-bench",
            dependencies: [
                .product(name: "ProcWatchFleet", package: "procwatch"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/FleetBench"
        ),
        .executableTarget(
            name: "ProcWatchMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ProcWatch", package: "procwatch"),
                .product(name: "ProcWatchCLI", package: "procwatch"),
            ],
            path: "Benchmarks/ProcWatchMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
