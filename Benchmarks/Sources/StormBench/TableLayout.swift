/// Fixed-width text columns: the one layout every table storm-bench prints goes through.
struct TableLayout {
    struct Column {
        var title: String
        var width: Int
        /// Left-aligned (names) or right-aligned (numbers).
        var left: Bool
    }

    var columns: [Column]

    init(_ columns: [(title: String, width: Int, left: Bool)]) {
        self.columns = columns.map { Column(title: $0.title, width: $0.width, left: $0.left) }
    }

    var header: String { line(columns.map(\.title)) }

    /// The cells padded to their columns (a cell wider than its column pushes the rest right).
    func line(_ cells: [String]) -> String {
        zip(columns, cells).map { column, cell in
            let padding = String(repeating: " ", count: max(0, column.width - cell.count))
            return column.left ? cell + padding : padding + cell
        }.joined(separator: " ")
    }
}

/// A share as a percentage cell, e.g. "97.3%"; "-" when there is nothing to share.
func percentCell(_ part: Int, of whole: Int) -> String {
    whole > 0 ? fixed(100 * Double(part) / Double(whole), 1) + "%" : "-"
}

/// A titled section at the end of a printed report: a blank line, `title:`, then each line
/// indented; nothing when there are no lines and `always` is false.
func reportSection(_ title: String, _ lines: [String], always: Bool = false) -> [String] {
    guard always || !lines.isEmpty else { return [] }
    return ["", title + ":"] + lines.map { "  " + $0 }
}
