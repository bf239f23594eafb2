import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Glibc
import Testing
@testable import ProcWatchStore
@testable import ProcWatchStoreCLI

/// What `report` says of files that are not whole recordings, of files holding several
/// recordings, of recordings still being written, and how the timeline labels processes
/// (no kernel).
@Suite("Report hygiene (no kernel)")
struct ReportHygieneTests {
    func loadError(_ path: String, _ filter: ReportFilter = ReportFilter()) -> String? {
        do {
            _ = try ReportReader.load(path: path, filter: filter)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func write(_ bytes: [UInt8], to path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }

    @Test func emptyTruncatedAndDamagedFilesSayWhatTheyAre() throws {
        let path = StoreWorkload.temporaryPath("whole.db")
        let broken = StoreWorkload.temporaryPath("broken.db")
        defer {
            StoreWorkload.remove(path)
            StoreWorkload.remove(broken)
        }
        try StoreWorkload.record(into: path)  // finished: checkpointed into the main file
        let whole = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let pages = whole.count / 4096
        #expect(whole.count % 4096 == 0 && pages > 3)

        write([], to: broken)
        #expect(loadError(broken) == "\(broken) is empty (0 bytes): not a recording")
        write(Array(whole.prefix(20000)), to: broken)
        #expect(loadError(broken)
                == "\(broken) is truncated: 20000 bytes, but its SQLite header counts \(pages) pages of 4096 bytes (\(whole.count) bytes)")
        write(Array(whole.prefix(60)), to: broken)
        #expect(loadError(broken) == "\(broken) is truncated: 60 bytes, shorter than SQLite's 100-byte header")
        // Pages 2 to the end overwritten: the schema page is intact, the tables are not.
        write(Array(whole.prefix(4096)) + [UInt8](repeating: 0xA5, count: whole.count - 4096), to: broken)
        #expect(loadError(broken) == "\(broken) is damaged: SQLite says \"database disk image is malformed\"")
        write(Array("not a database\n".utf8), to: broken)
        #expect(loadError(broken) == "\(broken) is not an SQLite database")
        unlink(broken)
        #expect(loadError(broken) == "\(broken): no such file")
    }

    @Test func oneRecordingOfAFileThatHoldsSeveral() throws {
        let path = StoreWorkload.temporaryPath("several.db")
        defer { StoreWorkload.remove(path) }
        try StoreWorkload.record(into: path)
        try StoreWorkload.record(into: path)
        let both = try ReportReader.load(path: path)
        #expect(both.sessions.map(\.id) == [1, 2])
        #expect(both.recordingsInFile == [1, 2])
        #expect(both.processes.count == 6)
        #expect(both.text().split(separator: "\n").contains(
            "  note       2 recordings appended to one file: the span and figures cover them all; --recording N (or --last) reports one"))

        for choice in [RecordingChoice.id(2), .last] {
            var filter = ReportFilter()
            filter.recording = choice
            let one = try ReportReader.load(path: path, filter: filter)
            #expect(one.sessions.map(\.id) == [2])
            #expect(one.recordingsInFile == [1, 2])
            #expect(one.processes.map(\.id) == [4, 5, 6])
            #expect(one.eventCounts == ["exit": 4, "fork": 4, "exec": 3, "lost": 1, "uid": 1])
            #expect(one.lostEvents == 5)
            #expect(!one.text().contains("  note "))
        }
        var first = ReportFilter()
        first.recording = .id(1)
        #expect(try ReportReader.load(path: path, filter: first).processes.map(\.id) == [1, 2, 3])
        var missing = ReportFilter()
        missing.recording = .id(3)
        #expect(loadError(path, missing) == "\(path) has no recording #3 (it holds #1, #2)")
    }

    @Test func recordSaysWhenItAppends() {
        #expect(RecordCommand.appendingNotice(path: "run.db", earlier: [], this: 1) == nil)
        #expect(RecordCommand.appendingNotice(path: "run.db", earlier: [1], this: 2)
                == "procwatch: run.db holds 1 earlier recording: appending this one as #2 (`procwatch report run.db --recording 2`, or --last, reports it alone)")
        #expect(RecordCommand.appendingNotice(path: "run.db", earlier: [1, 2], this: 3)
                == "procwatch: run.db holds 2 earlier recordings: appending this one as #3 (`procwatch report run.db --recording 3`, or --last, reports it alone)")
    }

    @Test func aRecordingBeingWrittenIsInProgressAndOneWhoseRecorderIsGoneIsCutShort() throws {
        let path = StoreWorkload.temporaryPath("progress.db")
        defer { StoreWorkload.remove(path) }
        func line() throws -> String? {
            try ReportReader.load(path: path).text().split(separator: "\n").first { $0.hasPrefix("  recording  #1 ") }.map(String.init)
        }
        do {
            let recorder = try StoreWorkload.recorder(path, taskstats: false)
            try recorder.flush()
            #expect(try ReportReader.load(path: path).sessions.map(\.inProgress) == [true])
            #expect(try line()?.hasSuffix(", in progress (still being recorded); no taskstats (CPU unknown)") == true)
            #expect(try ReportReader.load(path: path).json().contains("\"in_progress\" : true"))
        }
        // The recorder is gone without writing an end (as after kill -9): its lock went with it.
        #expect(try ReportReader.load(path: path).sessions.map(\.inProgress) == [false])
        #expect(try line()?.hasSuffix(", cut short (no end recorded); no taskstats (CPU unknown)") == true)
        let finished = try StoreWorkload.recorder(path, taskstats: false)
        try finished.finish(reason: "duration")
        #expect(try ReportReader.load(path: path).sessions.map { "\($0.id) \($0.inProgress) \($0.endReason ?? "-")" }
                == ["1 false -", "2 false duration"])
    }

    @Test func labelsNameTheProgramAndItsMostTellingArgument() {
        let cc1 = ["/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "-quiet", "-imultiarch", "x86_64-linux-gnu", "main.c", "-quiet",
                   "-dumpdir", "./", "-dumpbase", "main.c", "-dumpbase-ext", ".c", "-mtune=generic", "-march=x86-64", "-O2",
                   "-o", "/tmp/ccQx1Wbf.s"]
        let ld = ["/usr/bin/ld", "-plugin", "/usr/libexec/gcc/x86_64-linux-gnu/12/liblto_plugin.so", "--build-id", "-m", "elf_x86_64",
                  "-dynamic-linker", "/lib64/ld-linux-x86-64.so.2", "-pie", "-o", "app", "/usr/lib/x86_64-linux-gnu/Scrt1.o",
                  "main.o", "f1.o", "-lc", "/usr/lib/x86_64-linux-gnu/crtn.o"]
        let cases: [([String], String)] = [
            (cc1, "cc1 main.c"),
            (["cc", "-O2", "-c", "f3.c", "-o", "f3.o"], "cc f3.c"),
            (["as", "--64", "-o", "f3.o", "/tmp/ccKPxMzf.s"], "as ccKPxMzf.s"),
            (ld, "ld -o app"),
            (["cc", "-o", "app", "main.o", "f1.o"], "cc -o app"),
            (["make", "-j2"], "make -j2"),
            (["make"], "make"),
            (["/bin/sh", "-c", "sleep 0.05; exit 3"], "sh sleep 0.05; exit 3"),
            (["sleep", "0.05"], "sleep 0.05"),
            (["python3", "-u", "/srv/tools/build.py", "--fast"], "python3 build.py"),
            (["tar", "xf", "/tmp/src.tar.gz"], "tar src.tar.gz"),
        ]
        for (commandLine, label) in cases {
            let program = String(commandLine[0].split(separator: "/").last!)
            #expect(ProcessLabel.label(program: program, commandLine: commandLine) == label, "\(commandLine)")
        }
    }

    @Test func timelineRowsAreLabelledShortWithTheWholeLineOnHover() throws {
        let cc1 = ["/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "-quiet", "-imultiarch", "x86_64-linux-gnu", "f1.c", "-quiet",
                   "-dumpbase", "f1.c", "-O2", "-o", "/tmp/ccAbCdEf.s"]
        func process(_ id: Int64, _ parent: Int64?, _ commandLine: [String], comm: String) -> StoredProcess {
            StoredProcess(id: id, parent: parent, pid: Int32(100 + id), ppid: 1, comm: comm, commandLine: commandLine,
                          start: 1_000_000_000 + id * 1_000_000, end: 1_010_000_000, startKnown: true, status: .exited(0),
                          cpuSeconds: nil, peakRSSKiB: nil, readBytes: nil, writeBytes: nil, threads: 0)
        }
        let processes = [process(1, nil, ["cc", "-O2", "-c", "f1.c", "-o", "f1.o"], comm: "cc"), process(2, 1, cc1, comm: "cc1"),
                         process(3, 1, [], comm: "as")]
        let report = RecordingReport(
            path: "build.db", sessions: [], recordingsInFile: [1], start: 1_000_000_000, end: 1_010_000_000, processes: processes,
            depths: [0, 1, 1], eventCounts: [:], lostReports: 0, lostEvents: 0, lostByReason: [:], jobs: [])
        let svg = TimelineSVG(report: report).render()
        let labels = Labels()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = labels
        #expect(parser.parse())
        #expect(labels.texts == ["101 cc f1.c", "  102 cc1 f1.c", "  103 [as]"])
        #expect(labels.titles.map { $0.split(separator: "\n").first.map(String.init) ?? "" }
                == ["101 cc -O2 -c f1.c -o f1.o", "102 " + cc1.joined(separator: " "), "103 [as]"])
    }

    /// The label `<text>` and the first `<title>` of each process group.
    final class Labels: NSObject, XMLParserDelegate {
        var texts: [String] = [], titles: [String] = []
        private var depth = 0, element = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            element = name
            if name == "g", (attributes["class"] ?? "").hasPrefix("process") {
                depth += 1
                texts.append("")
                titles.append("")
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard depth > 0 else { return }
            if element == "text" { texts[texts.count - 1] += string }
            if element == "title" { titles[titles.count - 1] += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            element = ""
        }
    }
}
