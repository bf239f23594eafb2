import OutputBytes

/// Where a row's values go, by 1-based column position: the SQLite recorder's prepared
/// statement (``BulkInsert``) or the fleet store's COPY rows. ``EventRow`` and
/// ``ProcessRow`` write themselves through it, so both stores get the same values from the
/// same code. A position nothing is written to is NULL.
package protocol ColumnValues {
    /// An integer at `position`.
    mutating func integer(_ position: Int32, _ value: Int64)
    /// A double at `position`.
    mutating func real(_ position: Int32, _ value: Double)
    /// The UTF-8 text `write` appends, at `position`.
    mutating func text(_ position: Int32, _ write: (inout [UInt8]) -> Void)
}

extension ColumnValues {
    /// A string at `position`.
    package mutating func text(_ position: Int32, _ value: String) { text(position) { $0.append(utf8: value) } }
}
