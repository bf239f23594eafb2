import GRDB
import GRDBSQLite

/// One prepared INSERT run for many rows inside a GRDB transaction, each value bound with
/// SQLite's C API straight from what the row is made of.
///
/// A storm writes tens of thousands of rows per second: GRDB's `StatementArguments`, or even
/// an array of `DatabaseValue`s per row, cost more than SQLite's own insert (an allocation
/// per row and per text value). Here the text of a row (its times and JSON) is written into
/// one byte buffer kept for the connection's life and bound without a copy; the statement
/// is GRDB's cached one, prepared once per connection and finalized when it closes.
final class BulkInsert: ColumnValues {
    private let connection: OpaquePointer
    private let statement: OpaquePointer
    private let sql: String
    /// The text values of the row being built, back to back.
    private var text: [UInt8] = []
    /// Where each text value of the row is in ``text``.
    private var texts: [(position: Int32, start: Int, end: Int)] = []

    /// The cached statement for `sql` on `db`'s connection (which must be in a transaction
    /// while it runs); every parameter unbound (NULL).
    init(_ db: Database, sql: String) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "closed") }
        statement = try db.cachedStatement(sql: sql).sqliteStatement
        sqlite3_clear_bindings(statement)
        self.connection = connection
        self.sql = sql
        text.reserveCapacity(4096)
    }

    private static let empty: StaticString = ""

    /// Binds an integer to the parameter at `position` (1-based).
    func integer(_ position: Int32, _ value: Int64) { sqlite3_bind_int64(statement, position, value) }

    /// Binds a REAL.
    func real(_ position: Int32, _ value: Double) { sqlite3_bind_double(statement, position, value) }

    /// Binds the text `write` appends (UTF-8; what it writes must not hold a NUL byte).
    func text(_ position: Int32, _ write: (inout [UInt8]) -> Void) {
        let start = text.count
        write(&text)
        texts.append((position, start, text.count))
    }


    /// Inserts the row bound so far, then unbinds every parameter for the next.
    func run() throws {
        let code = text.withUnsafeBufferPointer { bytes in
            // An empty buffer may have no address, and a NULL pointer would bind NULL, not ''.
            let base = bytes.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(Self.empty.utf8Start)
            for (position, start, end) in texts {
                // SQLITE_STATIC (nil): the bytes stay put until the bindings are cleared below.
                sqlite3_bind_text(statement, position, (base + start).assumingMemoryBound(to: CChar.self), Int32(end - start), nil)
            }
            let code = sqlite3_step(statement)
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            return code
        }
        text.removeAll(keepingCapacity: true)
        texts.removeAll(keepingCapacity: true)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
    }
}
