/// Why a recording file cannot be opened or written: each one line, for `procwatch: …`.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The file exists but is not an SQLite database.
    case notSQLite(path: String)
    /// An SQLite database of another program: another `PRAGMA application_id`, or none
    /// (`applicationID` 0) and not procwatch's tables.
    case foreignDatabase(path: String, applicationID: Int32)
    /// A schema version this procwatch does not write.
    case newerSchema(path: String, version: Int)
    /// An older schema version (no migration exists for it).
    case olderSchema(path: String, version: Int)
    /// The file or its directory cannot be written.
    case notWritable(path: String, reason: String)
    /// The file does not exist (reading).
    case missing(path: String)
    /// The disk filled up while recording; what was committed before is kept.
    case diskFull(path: String)
    /// Any other SQLite failure.
    case database(path: String, message: String)

    /// The one-line message (`procwatch: ` is added by the command).
    public var description: String {
        switch self {
        case .notSQLite(let path): "\(path) is not an SQLite database"
        case .foreignDatabase(let path, 0): "\(path) is an SQLite database of another program (no procwatch application_id or tables)"
        case .foreignDatabase(let path, let application):
            "\(path) is an SQLite database of another program (application_id \(StoreSchema.hex(application)), not procwatch's \(StoreSchema.hex(StoreSchema.applicationID)))"
        case .newerSchema(let path, let version):
            "\(path) has schema version \(version), newer than this procwatch's (\(StoreSchema.version)): use a newer procwatch"
        case .olderSchema(let path, let version):
            "\(path) has schema version \(version), older than this procwatch's (\(StoreSchema.version)): record to a new file"
        case .notWritable(let path, let reason): "cannot write \(path): \(reason)"
        case .missing(let path): "\(path): no such file"
        case .diskFull(let path): "the disk is full: recording to \(path) stopped; everything committed before is kept"
        case .database(let path, let message): "\(path): \(message)"
        }
    }
}
