import OutputBytes
import ProcWatchStore

/// Rows in the text format of PostgreSQL's `COPY … FROM STDIN`: values separated by tabs,
/// one row per line, `\N` for NULL, and in text values the backslash, tab, newline and
/// carriage return escaped (`\\`, `\t`, `\n`, `\r`) so an argv holding them stays one value.
///
/// A row's values arrive by position in any order (the event contract's order is not the
/// columns'); ``endRow()`` writes them out in column order. A class: the row writers hold
/// it through value-type sinks, and a struct's copy would copy every row written so far.
final class CopyRows: ColumnValues {
    /// The finished rows, each ending in a newline.
    private(set) var bytes: [UInt8] = []
    /// How many rows ``bytes`` holds.
    private(set) var count = 0
    private let columns: Int32
    /// The values of the row being built, unescaped, back to back.
    private var scratch: [UInt8] = []
    /// Where each position's value is in ``scratch`` (start == -1: NULL).
    private var slots: [(start: Int, end: Int)]

    /// Rows of `columns` values (positions 1…columns).
    init(columns: Int) {
        self.columns = Int32(columns)
        slots = Array(repeating: (-1, -1), count: columns + 1)
        scratch.reserveCapacity(1024)
    }

    func integer(_ position: Int32, _ value: Int64) { text(position) { $0.append(decimal: value) } }

    func real(_ position: Int32, _ value: Double) { text(position) { $0.append(utf8: "\(value)") } }

    /// A string at `position` (the protocol's own would need a `var` to call).
    func text(_ position: Int32, _ value: String) { text(position) { $0.append(utf8: value) } }

    func text(_ position: Int32, _ write: (inout [UInt8]) -> Void) {
        let start = scratch.count
        write(&scratch)
        slots[Int(position)] = (start, scratch.count)
    }

    /// Appends the row built so far (positions without a value as NULL) and starts the next.
    func endRow() {
        for position in 1...Int(columns) {
            if position > 1 { bytes.append(0x09) }
            let (start, end) = slots[position]
            if start < 0 {
                bytes.append(0x5C)
                bytes.append(UInt8(ascii: "N"))
            } else {
                Self.appendEscaped(scratch[start..<end], to: &bytes)
            }
            slots[position] = (-1, -1)
        }
        bytes.append(0x0A)
        scratch.removeAll(keepingCapacity: true)
        count += 1
    }

    /// `value` with COPY's text escapes.
    static func appendEscaped(_ value: ArraySlice<UInt8>, to bytes: inout [UInt8]) {
        for byte in value {
            switch byte {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            default: bytes.append(byte)
            }
        }
    }
}
