import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Glibc
import Testing
@testable import ProcWatchStore

/// The SVG timeline parsed back as XML, and rendered by rsvg-convert (no kernel).
@Suite("Timeline (no kernel)")
struct TimelineTests {
    /// What the SVG says about each process group: its parent group, bars, exit markers.
    final class Structure: NSObject, XMLParserDelegate {
        struct Process { var parent: String?; var bars = 0; var exits: [String] = []; var title = "" }
        var processes: [String: Process] = [:]
        var order: [String] = []
        private var stack: [String?] = []  // data-pid of each open <g>, nil for other groups
        private var inTitle = false

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            let current = stack.compactMap { $0 }.last
            switch name {
            case "g":
                let pid = (attributes["class"] ?? "").hasPrefix("process") ? attributes["data-pid"] : nil
                if let pid {
                    processes[pid] = Process(parent: current)
                    order.append(pid)
                }
                stack.append(pid)
            case "rect" where (attributes["class"] ?? "").hasPrefix("bar"):
                if let current { processes[current]?.bars += 1 }
            case "rect" where (attributes["class"] ?? "").hasPrefix("exit"):
                if let current { processes[current]?.exits.append(attributes["class"] ?? "") }
            case "title":
                inTitle = current != nil
            default: break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if inTitle, let current = stack.compactMap({ $0 }).last { processes[current]?.title += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "g" { stack.removeLast() }
            if name == "title" { inTitle = false }
        }
    }

    @Test func oneBarPerProcessNestedUnderItsParent() throws {
        let path = StoreWorkload.temporaryPath("svg.db")
        defer { StoreWorkload.remove(path) }
        try StoreWorkload.record(into: path)
        let svg = TimelineSVG(report: try ReportReader.load(path: path)).render()
        let parser = XMLParser(data: Data(svg.utf8))
        let structure = Structure()
        parser.delegate = structure
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(structure.order == ["50001", "50002", "50004"])
        #expect(structure.processes["50001"]?.parent == nil)
        #expect(structure.processes["50002"]?.parent == "50001")
        #expect(structure.processes["50004"]?.parent == "50001")
        for pid in structure.order { #expect(structure.processes[pid]?.bars == 1, "\(pid)") }
        #expect(structure.processes["50001"]?.exits == ["exit failed"])
        #expect(structure.processes["50002"]?.exits == ["exit"])
        #expect(structure.processes["50004"]?.exits == ["exit failed"])
        let title = try #require(structure.processes["50001"]?.title)
        #expect(title.hasPrefix("50001 /bin/sh -c work\nstart +"))
        #expect(title.contains("\nlifetime 0.021000 s"))
        #expect(title.hasSuffix("\nexit 3"))
    }

    @Test func rsvgConvertRendersItAsPNG() throws {
        let path = StoreWorkload.temporaryPath("png.db")
        let svgPath = path + ".svg", pngPath = path + ".png"
        defer {
            StoreWorkload.remove(path)
            unlink(svgPath)
            unlink(pngPath)
        }
        try StoreWorkload.record(into: path)
        let svg = TimelineSVG(report: try ReportReader.load(path: path)).render()
        try svg.write(toFile: svgPath, atomically: true, encoding: .utf8)
        let run = try Spawn.capture(["rsvg-convert", "-o", pngPath, svgPath])
        #expect(run.status == 0, "rsvg-convert (Debian librsvg2-bin): \(run.stderr)")
        let png = try Data(contentsOf: URL(fileURLWithPath: pngPath))
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    }

    @Test func htmlEmbedsTheSVGWithZoom() throws {
        let path = StoreWorkload.temporaryPath("html.db")
        defer { StoreWorkload.remove(path) }
        try StoreWorkload.record(into: path)
        let timeline = TimelineSVG(report: try ReportReader.load(path: path))
        let html = TimelineHTML(timeline: timeline).render()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains(timeline.render()))
        #expect(html.contains("id=\"zoom-in\""))
        #expect(html.contains("addEventListener('wheel'"))
    }

    @Test func tickStepsAreRound() {
        #expect(TimelineSVG.tickStep(1) == 0.1)
        #expect(TimelineSVG.tickStep(0.15) == 0.02)
        #expect(TimelineSVG.tickStep(45) == 5)
        #expect(TimelineSVG.tickStep(3600) == 500)
    }
}
