import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch record …` in the `procwatch` binary: hands the whole command line to
/// `procwatch-store`, which parses it with the real command (so its help, validation and
/// messages are the real ones).
struct RecordForwarder: ParsableCommand {
    static let configuration = StoreCommandConfigurations.record

    @Argument(parsing: .captureForPassthrough, help: .hidden)
    var arguments: [String] = []

    func run() throws { StoreBinary.exec() }
}

/// `procwatch report …` in the `procwatch` binary: see ``RecordForwarder``.
struct ReportForwarder: ParsableCommand {
    static let configuration = StoreCommandConfigurations.report

    @Argument(parsing: .captureForPassthrough, help: .hidden)
    var arguments: [String] = []

    func run() throws { StoreBinary.exec() }
}

/// `procwatch daemon …` in the `procwatch` binary: see ``RecordForwarder``.
struct DaemonForwarder: ParsableCommand {
    static let configuration = StoreCommandConfigurations.daemon

    @Argument(parsing: .captureForPassthrough, help: .hidden)
    var arguments: [String] = []

    func run() throws { StoreBinary.exec() }
}

/// `procwatch history …` in the `procwatch` binary: see ``RecordForwarder``.
struct HistoryForwarder: ParsableCommand {
    static let configuration = StoreCommandConfigurations.history

    @Argument(parsing: .captureForPassthrough, help: .hidden)
    var arguments: [String] = []

    func run() throws { StoreBinary.exec() }
}

/// `procwatch hosts …` in the `procwatch` binary: see ``RecordForwarder``.
struct HostsForwarder: ParsableCommand {
    static let configuration = StoreCommandConfigurations.hosts

    @Argument(parsing: .captureForPassthrough, help: .hidden)
    var arguments: [String] = []

    func run() throws { StoreBinary.exec() }
}

/// The `procwatch-store` executable, built and installed next to `procwatch`.
enum StoreBinary {
    /// Its name, next to the running `procwatch`.
    static let name = "procwatch-store"

    /// The commands that run in it.
    static let commandNames = ["record", "report", "daemon", "history", "hosts"]

    /// Whether this command line asks for `help record` or `help report` (which the
    /// forwarders could not answer with the real options).
    static func isHelpForStoreCommand(_ arguments: [String]) -> Bool {
        arguments.count >= 3 && arguments[1] == "help" && commandNames.contains(arguments[2])
    }

    /// Replaces this process with `procwatch-store` and the same arguments; on failure says
    /// why in one line and exits 2.
    static func exec() -> Never {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let own = length > 0 ? String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let directory = own.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let path = directory + "/" + name
        let arguments = CommandLine.arguments
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        pointers.append(nil)
        execv(path, pointers)
        let reason = String(cString: strerror(errno))
        FileHandleOutput.standardError(
            "procwatch: \(arguments.dropFirst().first { commandNames.contains($0) } ?? "record") needs \(path) (\(reason)): "
                + remedy(directory: directory))
        exit(2)
    }

    /// How to get `procwatch-store` next to a `procwatch` in `directory`: the build command
    /// of the configuration it came from (`swift run procwatch` builds only procwatch), or
    /// the package it was installed from.
    static func remedy(directory: String) -> String {
        switch directory.split(separator: "/").last {
        case "debug": "build it with `swift build --product procwatch-store` (scripts/procwatch builds and runs both)"
        case "release": "build it with `swift build -c release --product procwatch-store` (scripts/procwatch builds and runs both)"
        default: "install procwatch-store next to procwatch (the Debian package from scripts/package has both)"
        }
    }
}
