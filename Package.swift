// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "procwatch",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ProcWatch", targets: ["ProcWatch"]),
        // The command's internals (renderers, live pipeline), public only as SPI for Benchmarks/.
        .library(name: "ProcWatchCLI", targets: ["ProcWatchCLI"]),
        .executable(name: "procwatch", targets: ["procwatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        // The front end: options, live view, rendering, `run`, `jobs`, `stats`.
        .target(
            name: "ProcWatchCLI",
            dependencies: [
                "ProcWatch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "procwatch", dependencies: ["ProcWatchCLI"]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "CProcWatch"]),
        .testTarget(
            name: "ProcWatchTests",
            dependencies: ["ProcWatch", "ProcWatchCLI", "Netlink", "CProcWatch", "procwatch"],
            resources: [.copy("FuzzRegressions")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
