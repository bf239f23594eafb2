// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "procwatch",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ProcWatch", targets: ["ProcWatch"]),
        // The command's internals (renderers, live pipeline), public only as SPI for Benchmarks/.
        .library(name: "ProcWatchCLI", targets: ["ProcWatchCLI"]),
        // The fleet store's client (the daemon's sink, the readers); a product for Benchmarks/
        // (`fleet-bench` times the sink's batch writer through its SPI).
        .library(name: "ProcWatchFleet", targets: ["ProcWatchFleet"]),
        .executable(name: "procwatch", targets: ["procwatch"]),
        // `procwatch record` and `procwatch report` run here: the live view never loads SQLite and Foundation.
        .executable(name: "procwatch-store", targets: ["procwatch-store"]),
    ],
    traits: [
        // The command-line tools: their argument parsing and SQLite store. On by default; a
        // package that only uses the library depends with `traits: []` and then neither
        // resolves nor builds swift-argument-parser and GRDB.
        .trait(name: "Tools", description: "The procwatch and procwatch-store executables (swift-argument-parser, GRDB)"),
        .default(enabledTraits: ["Tools"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // The daemon: graceful shutdown and reload, the client socket and the metrics
        // endpoint, the metrics themselves, and its YAML configuration file.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The fleet store: many hosts' history in one PostgreSQL.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // TLS to it (`sslmode=verify-full`): the configuration postgres-nio takes.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Everything Swift cannot import from the Linux uapi headers, with layouts pinned.
        .target(name: "CProcWatch"),
        // Netlink sockets and message framing: bytes, never processes.
        .target(
            name: "Netlink",
            dependencies: [
                "CProcWatch",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The public library: the proc connector protocol, the event model, watchers, streams.
        .target(
            name: "ProcWatch",
            dependencies: [
                "CProcWatch",
                "Netlink",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Text into byte buffers without intermediate Strings, JSON escaping included: the
        // renderers' per-event writes and the store's JSON columns, and the JSON values of
        // the event contract both of them write (lists, the exit `status` object).
        .target(name: "OutputBytes", dependencies: ["ProcWatch"]),
        // The durable record: the SQLite schema, the recorder, and the reports read back from it.
        .target(
            name: "ProcWatchStore",
            dependencies: [
                "ProcWatch",
                "OutputBytes",
                .product(name: "GRDB", package: "GRDB.swift", condition: .when(traits: ["Tools"])),
                // The system SQLite GRDB is built on: the recorder binds its hot inserts directly.
                .product(name: "GRDBSQLite", package: "GRDB.swift", condition: .when(traits: ["Tools"])),
            ]
        ),
        // The front end: options, live view, rendering, `run`, `jobs`, `stats`; `record` and
        // `report` only as forwarders to `procwatch-store`.
        .target(
            name: "ProcWatchCLI",
            dependencies: [
                "ProcWatch",
                // The held spawn of `run` through the daemon (fork in C: see the shim).
                "CProcWatch",
                "OutputBytes",
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Tools"])),
            ],
            plugins: ["BuildRevision"]
        ),
        // `procwatch --version` names the git revision it was built from.
        .plugin(name: "BuildRevision", capability: .buildTool()),
        // The fleet store: the history of many hosts in one PostgreSQL server (the sink of the
        // daemon and of `record --to`, the readers of `report`/`history --from` and `hosts`).
        .target(
            name: "ProcWatchFleet",
            dependencies: [
                "ProcWatch",
                "ProcWatchStore",
                "OutputBytes",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Tools"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Tools"])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["Tools"])),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["Tools"])),
            ]
        ),
        // `procwatch daemon`: one kernel subscription recorded into the history and served to
        // every client over a Unix socket, with Prometheus metrics.
        .target(
            name: "ProcWatchDaemon",
            dependencies: [
                "ProcWatch",
                "ProcWatchCLI",
                "ProcWatchStore",
                "ProcWatchFleet",
                "OutputBytes",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: .when(traits: ["Tools"])),
                .product(name: "UnixSignals", package: "swift-service-lifecycle", condition: .when(traits: ["Tools"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Tools"])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["Tools"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["Tools"])),
                .product(name: "Metrics", package: "swift-metrics", condition: .when(traits: ["Tools"])),
                .product(name: "Prometheus", package: "swift-prometheus", condition: .when(traits: ["Tools"])),
                .product(name: "Yams", package: "Yams", condition: .when(traits: ["Tools"])),
            ]
        ),
        // `record`, `report`, `history` and `daemon`: the front end of the durable record
        // (links GRDB, SQLite, Foundation, and the daemon's libraries).
        .target(
            name: "ProcWatchStoreCLI",
            dependencies: [
                "ProcWatch",
                "ProcWatchCLI",
                "ProcWatchStore",
                "ProcWatchDaemon",
                "ProcWatchFleet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Tools"])),
            ]
        ),
        // No dependency on `procwatch-store`, not even on the executable target: SwiftPM would
        // link its library targets (GRDB, and with it Foundation) into `procwatch` too.
        .executableTarget(name: "procwatch", dependencies: ["ProcWatchCLI"]),
        .executableTarget(name: "procwatch-store", dependencies: ["ProcWatchStoreCLI"]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "CProcWatch"]),
        .testTarget(
            name: "ProcWatchTests",
            dependencies: ["ProcWatch", "ProcWatchCLI", "ProcWatchStore", "ProcWatchStoreCLI", "ProcWatchDaemon", "ProcWatchFleet", "Netlink", "CProcWatch", "procwatch", "procwatch-store",
                           .product(name: "GRDB", package: "GRDB.swift", condition: .when(traits: ["Tools"]))],
            resources: [.copy("FuzzRegressions")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
