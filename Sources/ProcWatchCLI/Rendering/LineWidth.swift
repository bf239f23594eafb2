#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// How many columns a line of text output may take: a fixed `--width N`, or the width of the
/// terminal standard output is, followed across resizes (SIGWINCH). Piped output has none
/// (nil from ``standardOutput(width:truncate:)``): it stays whole, for grep and files.
///
/// SPI (`Benchmarks`): public only so the renderer's style can hold one.
@_spi(Benchmarks) public final class LineWidth: Sendable {
    /// The width last read (or the fixed one).
    private let columns: Atomic<Int>
    /// The terminal followed, or nil for a fixed width.
    private let terminal: Int32?
    /// The resize count when ``columns`` was last read from the terminal.
    private let seenResizes: Atomic<Int>

    /// A fixed width (`--width N`).
    public init(columns: Int) {
        self.columns = Atomic(columns)
        terminal = nil
        seenResizes = Atomic(0)
    }

    /// The width of the terminal `descriptor` is, followed across resizes; nil when it is no terminal.
    package init?(following descriptor: Int32) {
        guard isatty(descriptor) == 1 else { return nil }
        Resizes.install()
        terminal = descriptor
        seenResizes = Atomic(Resizes.count.load(ordering: .acquiring))
        columns = Atomic(Self.read(descriptor))
    }

    /// The width for standard output: `--width` when given, none with `--no-truncate` or
    /// when standard output is not a terminal, else the terminal's.
    package static func standardOutput(width: Int?, truncate: Bool) -> LineWidth? {
        guard truncate else { return nil }
        if let width { return LineWidth(columns: width) }
        return LineWidth(following: 1)
    }

    /// The width now: read again from the terminal after a SIGWINCH (one atomic load per
    /// line otherwise).
    public var current: Int {
        if let terminal {
            let resizes = Resizes.count.load(ordering: .acquiring)
            if seenResizes.exchange(resizes, ordering: .relaxed) != resizes { columns.store(Self.read(terminal), ordering: .relaxed) }
        }
        return columns.load(ordering: .relaxed)
    }

    /// TIOCGWINSZ's column count; COLUMNS, then 80, when the terminal does not say.
    private static func read(_ descriptor: Int32) -> Int {
        var size = winsize()
        if ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let text = getenv("COLUMNS"), let columns = Int(String(cString: text)), columns > 0 { return columns }
        return 80
    }

    // MARK: Cutting

    /// Cuts the text written to `out` from `start` to `columns` characters, the last of them
    /// `…`, when it is longer. Characters, not bytes: UTF-8 continuation bytes do not count
    /// (every character is taken as one column; escape sequences must be outside the range).
    public static func fit(_ out: inout [UInt8], from start: Int, columns: Int) {
        guard out.count - start > columns else { return }  // fewer bytes than columns: fits
        var characters = 0
        var cut: Int?
        for index in start..<out.count where out[index] & 0xC0 != 0x80 {
            if characters == columns - 1 { cut = index }
            characters += 1
            if characters > columns { break }
        }
        guard characters > columns, let cut else { return }
        out.removeSubrange(cut...)
        out.append(contentsOf: Self.ellipsis)
    }

    /// `text` cut to `columns` characters, ending in `…` when it was longer.
    package static func fit(_ text: String, columns: Int?) -> String {
        guard let columns else { return text }
        var bytes = Array(text.utf8)
        fit(&bytes, from: 0, columns: columns)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let ellipsis: [UInt8] = Array("…".utf8)
}

/// SIGWINCH, counted: the handler only increments an atomic (async-signal-safe); each
/// ``LineWidth`` reads the terminal again when the count moved.
private enum Resizes {
    static let count = Atomic<Int>(0)

    /// Installs the handler once per process (after `count` exists: the handler must not be
    /// the one to initialize it).
    static func install() { _ = installed }

    private static let installed: Bool = {
        _ = count.load(ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Resizes.count.add(1, ordering: .releasing) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = Int32(SA_RESTART)
        return sigaction(SIGWINCH, &action, nil) == 0
    }()
}
