// swift-tools-version: 6.1
// A libFuzzer target for the proc connector decoder. Separate from the root package so
// that normal builds never see the fuzzer flags. Build and run it with `scripts/fuzz`.
import PackageDescription

let package = Package(
    name: "procwatch-fuzz",
    dependencies: [
        .package(name: "procwatch", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "DecoderFuzzer",
            dependencies: [.product(name: "ProcWatch", package: "procwatch")],
            // No `main`: libFuzzer's runtime provides it and calls LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
