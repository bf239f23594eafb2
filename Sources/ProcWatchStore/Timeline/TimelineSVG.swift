import ProcWatch

/// The timeline as SVG: one bar per process from start to end, rows in depth-first order
/// (each process's group nested inside its parent's `<g>`, its label — program and most
/// telling argument, see ``ProcessLabel`` — indented by depth),
/// coloured by program, with an exit marker (red when it failed) and a `<title>` (the
/// command line and figures) that browsers show on hover.
///
/// Every element placed in time carries `data-s` (and bars `data-e`): seconds from the
/// window's start, which the HTML page's zoom uses to lay it out again.
public struct TimelineSVG {
    /// The report to draw.
    public var report: RecordingReport
    /// Width of the label column and of the time axis, in pixels.
    public var labelWidth = 360.0, plotWidth = 900.0
    /// Height of one row.
    public var rowHeight = 16.0

    private let top = 34.0

    /// A timeline of `report`.
    public init(report: RecordingReport) { self.report = report }

    /// The SVG document.
    public func render() -> String {
        let span = max(report.spanSeconds, 1e-6)
        let width = labelWidth + plotWidth + 20
        let height = top + Double(report.processes.count) * rowHeight + 10
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.number(width))" height="\(Self.number(height))" \
            viewBox="0 0 \(Self.number(width)) \(Self.number(height))" data-span="\(span)" data-label-width="\(labelWidth)" \
            data-plot-width="\(plotWidth)" font-family="monospace" font-size="11">
            <title>\(Self.escape("procwatch timeline: \(report.path)"))</title>
            <style>.bar{stroke:#0003}.exit{fill:#333}.exit.failed{fill:#d00}.running{opacity:.6}.axis{stroke:#bbb}text{fill:#222}</style>
            <rect width="100%" height="100%" fill="#fff"/>

            """
        out += axis(span: span, height: height)
        var open = 0
        var previousDepth = -1
        for (index, (process, depth)) in zip(report.processes, report.depths).enumerated() {
            // Close the groups of the previous row's subtree down to this row's parent.
            while open > 0, previousDepth >= depth {
                out += "</g>\n"
                open -= 1
                previousDepth -= 1
            }
            out += row(process, depth: depth, index: index, span: span)
            open += 1
            previousDepth = depth
        }
        out += String(repeating: "</g>\n", count: open)
        return out + "</svg>\n"
    }

    /// Tick marks and labels along the top.
    private func axis(span: Double, height: Double) -> String {
        let step = Self.tickStep(span)
        var out = "<g class=\"axis-labels\">\n"
        var tick = 0.0
        while tick <= span + step / 2 {
            let x = x(tick, span: span)
            out += "<line class=\"axis\" data-s=\"\(tick)\" x1=\"\(Self.number(x))\" x2=\"\(Self.number(x))\" y1=\"\(top - 6)\" "
                + "y2=\"\(Self.number(height))\"/>\n"
            out += "<text data-s=\"\(tick)\" x=\"\(Self.number(x + 2))\" y=\"\(top - 10)\">\(Self.number(tick))s</text>\n"
            tick += step
        }
        out += "<text x=\"4\" y=\"14\">\(Self.escape(StoreClock.rfc3339(unixNanoseconds: report.start)))"
            + " +\(RecordingReport.seconds(report.spanSeconds)) s, \(report.processes.count) processes</text>\n"
        return out + "</g>\n"
    }

    /// One process: its group (left open for its children), title, label, bar and exit marker.
    private func row(_ process: StoredProcess, depth: Int, index: Int, span: Double) -> String {
        let y = top + Double(index) * rowHeight
        let begin = Double(process.start - report.start) / 1e9
        let finish = Double((process.end ?? report.end) - report.start) / 1e9
        let startX = x(max(begin, 0), span: span)
        let endX = max(x(min(finish, span), span: span), startX + 1)
        let running = process.end == nil
        var title = "\(process.pid) \(process.displayName)"
        title += "\nstart +\(RecordingReport.seconds(begin)) s" + (process.startKnown ? "" : " (running before the recording)")
        title += process.durationSeconds.map { "\nlifetime \(RecordingReport.seconds($0)) s" } ?? "\nstill running at the end"
        if let cpu = process.cpuSeconds { title += "\ncpu \(RecordingReport.seconds(cpu)) s" }
        if let rss = process.peakRSSKiB { title += "\npeak rss \(rss) KiB" }
        if let status = process.status { title += "\n\(status)" }
        var out = "<g class=\"process\(process.failed ? " failed" : "")\" data-pid=\"\(process.pid)\" data-id=\"\(process.id)\" "
            + "data-depth=\"\(depth)\">\n<title>\(Self.escape(title))</title>\n"
        // The program and its most telling argument; the whole command line is in the title.
        let name = process.commandLine.isEmpty ? process.displayName
            : ProcessLabel.label(program: process.program, commandLine: process.commandLine)
        let label = String(repeating: "  ", count: depth) + "\(process.pid) \(name)"
        let maxCharacters = Int(labelWidth / 6.7)
        let shown = label.count > maxCharacters ? String(label.prefix(maxCharacters - 1)) + "…" : label
        out += "<text x=\"4\" y=\"\(Self.number(y + rowHeight - 4))\" xml:space=\"preserve\">\(Self.escape(shown))</text>\n"
        out += "<rect class=\"bar\(running ? " running" : "")\" data-s=\"\(begin)\" data-e=\"\(finish)\" x=\"\(Self.number(startX))\" "
            + "y=\"\(Self.number(y + 2))\" width=\"\(Self.number(endX - startX))\" height=\"\(Self.number(rowHeight - 4))\" "
            + "fill=\"\(Self.colour(process.program))\"/>\n"
        if process.status != nil {
            out += "<rect class=\"exit\(process.failed ? " failed" : "")\" data-s=\"\(finish)\" x=\"\(Self.number(endX - 1))\" "
                + "y=\"\(Self.number(y + 1))\" width=\"3\" height=\"\(Self.number(rowHeight - 2))\"/>\n"
        }
        return out
    }

    private func x(_ seconds: Double, span: Double) -> Double { labelWidth + seconds / span * plotWidth }

    /// A round tick interval giving about 10 ticks.
    static func tickStep(_ span: Double) -> Double {
        let raw = span / 10
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        for factor in [1.0, 2, 5, 10] where magnitude * factor >= raw { return magnitude * factor }
        return magnitude * 10
    }

    /// A stable colour per program (FNV-1a hash to a hue).
    static func colour(_ program: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in program.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "hsl(\(hash % 360),60%,\(50 + hash / 360 % 20)%)"
    }

    /// Pixels with at most two decimals.
    static func number(_ value: Double) -> String {
        let hundredths = (value * 100).rounded()
        return hundredths.truncatingRemainder(dividingBy: 100) == 0 ? String(Int64(hundredths / 100)) : String(hundredths / 100)
    }

    /// XML text and attribute escaping.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                if let scalar = character.unicodeScalars.first, character.unicodeScalars.count == 1,
                   scalar.value < 0x20, scalar != "\n", scalar != "\t" {
                    out += "?"  // not allowed in XML 1.0
                } else {
                    out.append(character)
                }
            }
        }
        return out
    }
}
