import GRDB
import GRDBSQLite

/// One prepared INSERT run for many rows inside a GRDB transaction, binding values with
/// SQLite's C API: GRDB's `StatementArguments` costs several microseconds per row of ~30
/// values, more than SQLite's own insert, and a storm writes tens of thousands per second.
struct BulkInsert: ~Copyable {
    private let connection: OpaquePointer
    private let statement: OpaquePointer
    private let sql: String

    /// Prepares `sql` on the connection of `db` (which must be in a transaction while it runs).
    init(_ db: Database, sql: String) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "closed") }
        var prepared: OpaquePointer?
        let code = sqlite3_prepare_v2(connection, sql, -1, &prepared, nil)
        guard code == SQLITE_OK, let prepared else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
        self.connection = connection
        self.statement = prepared
        self.sql = sql
    }

    deinit { sqlite3_finalize(statement) }

    /// Inserts one row: `values` in the statement's parameter order.
    func run(_ values: [DatabaseValue]) throws {
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value.storage {
            case .null: sqlite3_bind_null(statement, position)
            case .int64(let number): sqlite3_bind_int64(statement, position, number)
            case .double(let number): sqlite3_bind_double(statement, position, number)
            case .string(let text): _ = text.withCString { sqlite3_bind_text(statement, position, $0, -1, Self.transient) }
            case .blob(let bytes):
                _ = bytes.withUnsafeBytes { sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), Self.transient) }
            }
        }
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
    }

    /// SQLITE_TRANSIENT: SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
}
