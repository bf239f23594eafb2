import Glibc
import Testing
import ProcWatch

extension LiveKernelTests {
/// The README's library examples, verbatim, compiled and run against the real kernel.
/// Nested in the serialized live suite: they subscribe, and the release probes must not see them.
@Suite("README examples")
struct ReadmeExampleTests {
    static let thisFile = #filePath

    /// The lines between `// README: NAME` and `// README: end` in this file.
    static func snippet(_ name: String) throws -> String {
        let text = try #require(String(validating: try readFile(thisFile), as: UTF8.self))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.trimmingPrefixSpaces == "// README: \(name)" })
        let end = try #require(lines[start...].firstIndex { $0.trimmingPrefixSpaces == "// README: end" })
        let body = lines[(start + 1)..<end]
        let indent = body.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        return body.map { String($0.dropFirst(indent)) }.joined(separator: "\n")
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "r") else { throw CancellationError() }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }

    static var readme: String {
        get throws {
            let root = thisFile.split(separator: "/").dropLast(3).joined(separator: "/")
            return try #require(String(validating: try readFile("/" + root + "/README.md"), as: UTF8.self))
        }
    }

    @Test func watcherExampleIsInTheReadmeAndWorks() throws {
        #expect(try Self.readme.contains(Self.snippet("watchers")))
        try #require(getuid() == 0)
        // README: watchers
        let watchers = ProcessWatchers()
        watchers.on(.exec) { event in print("exec", event.pid!) }
        try watchers.start()
        // README: end
        let execs = Recorder<Int32>()
        watchers.on(.exec) { execs.append($0.pid!) }
        let child = try Spawn.run(["/bin/true"])
        #expect(eventually { execs.all.contains(child.pid) })
        watchers.stop()
    }

    @Test func enrichedWatcherExampleIsInTheReadmeAndWorks() throws {
        #expect(try Self.readme.contains(Self.snippet("enriched")))
        try #require(getuid() == 0)
        // README: enriched
        let enriched = ProcessWatchers()
        enriched.onEnriched(.exec) { e in print(e.event.pid!, e.process?.commandLine ?? []) }
        try enriched.start()
        // README: end
        let execs = Recorder<(Int32, [String])>()
        enriched.onEnriched(.exec) { execs.append(($0.event.pid!, $0.process?.commandLine ?? [])) }
        let child = try Spawn.run(["/bin/sleep", "0.05"])
        #expect(eventually { execs.all.contains { $0.0 == child.pid } })
        #expect(execs.all.first { $0.0 == child.pid }?.1 == ["/bin/sleep", "0.05"])
        enriched.stop()
    }

    @Test func streamExampleIsInTheReadmeAndWorks() async throws {
        #expect(try Self.readme.contains(Self.snippet("stream")))
        try #require(getuid() == 0)
        let failing = Task.detached {
            usleep(300_000)
            return try Spawn.run(["/bin/sh", "-c", "exit 3"]).pid
        }
        var seen: [ProcessEvent] = []
        // README: stream
        for try await event in ProcessEvents(.failedExit) {
            print(event.pid!, event.exitStatus!)  // 4242 exit 3
            // README: end
            seen.append(event)
            if event.pid == (try await failing.value) { break }
        }
        #expect(seen.last?.exitStatus == .exited(3))
    }
}

}

extension Substring {
    var trimmingPrefixSpaces: Substring { drop { $0 == " " } }
}
