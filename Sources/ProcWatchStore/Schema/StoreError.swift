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
    /// The file cannot be read (its permissions, or a directory on its path).
    case notReadable(path: String, reason: String)
    /// The file does not exist (reading).
    case missing(path: String)
    /// The file exists and holds nothing (reading).
    case empty(path: String)
    /// An SQLite file shorter than its own header says (`pages` 0: shorter than the header
    /// itself): cut off by a copy or a full disk.
    case truncated(path: String, bytes: Int64, pages: Int64, pageSize: Int64)
    /// An SQLite file whose pages SQLite cannot read (`detail`: SQLite's own words).
    case damaged(path: String, detail: String)
    /// `report --recording N` names a recording the file does not hold.
    case noSuchRecording(path: String, id: Int64, held: [Int64])
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
        case .notReadable(let path, let reason): "cannot read \(path): \(reason)"
        case .missing(let path): "\(path): no such file"
        case .empty(let path): "\(path) is empty (0 bytes): not a recording"
        case .truncated(let path, let bytes, 0, _): "\(path) is truncated: \(bytes) bytes, shorter than SQLite's 100-byte header"
        case .truncated(let path, let bytes, let pages, let pageSize):
            "\(path) is truncated: \(bytes) bytes, but its SQLite header counts \(pages) pages of \(pageSize) bytes (\(pages * pageSize) bytes)"
        case .damaged(let path, let detail): "\(path) is damaged: SQLite says \"\(detail)\""
        case .noSuchRecording(let path, let id, let held):
            "\(path) has no recording #\(id) (it holds \(held.isEmpty ? "none" : held.map { "#\($0)" }.joined(separator: ", ")))"
        case .diskFull(let path): "the disk is full: recording to \(path) stopped; everything committed before is kept"
        case .database(let path, let message): "\(path): \(message)"
        }
    }
}
