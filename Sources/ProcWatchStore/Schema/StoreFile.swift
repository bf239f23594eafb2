import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Opens recording files, refusing what is not one of ours before SQLite touches it.
enum StoreFile {
    /// The first 16 bytes of every SQLite 3 database.
    private static let header = Array("SQLite format 3\u{0}".utf8)

    /// Opens (creating it if needed) a file to record into: WAL mode, schema checked or created.
    static func openForRecording(_ path: String) throws(StoreError) -> DatabaseQueue {
        let existing = try inspect(path) == .sqlite
        try checkWritable(path, exists: existing)
        var configuration = Configuration()
        configuration.label = "procwatch.record"
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            // Checked before WAL mode is set: that rewrites the header of another program's file.
            if existing { try queue.read { db in if try tableCount(db) > 0 { try checkSchema(db, path: path) } } }
            try queue.writeWithoutTransaction { db in
                // Before the first table (it cannot be changed later without a VACUUM): pages
                // freed by deleting rows — the daemon's retention — can be given back to the
                // file system with `PRAGMA incremental_vacuum`. Every new file gets it, not
                // only the daemon's: one way of creating a store, and its cost is a pointer-map
                // page per ~800 pages; recording 90,000 events cost the same CPU per event
                // with and without it (23 µs, within the runs' noise, on the 2-core VM).
                if !existing { try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL") }
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                // WAL with synchronous NORMAL: a commit is durable against a crash of the
                // process (kill -9), not against a power cut before the next checkpoint.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            try queue.write { db in try checkOrCreateSchema(db, path: path) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw translate(error, path: path)
        }
        return queue
    }

    /// Opens a recording read-only (a recording in progress or cut short by kill -9 opens too).
    static func openForReading(_ path: String) throws(StoreError) -> DatabaseQueue {
        switch try inspect(path) {
        case .absent: throw .missing(path: path)
        case .empty: throw .empty(path: path)
        case .sqlite: break
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "procwatch.report"
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.read { db in try checkSchema(db, path: path) }
            return queue
        } catch let error as StoreError {
            throw error
        } catch {
            throw translate(error, path: path)
        }
    }

    /// Opens `path` read-only, runs `body` in one read transaction (one snapshot, however
    /// much a recorder commits meanwhile), and closes it; every failure is one ``StoreError``.
    static func reading<T>(_ path: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        let queue = try openForReading(path)
        defer { try? queue.close() }
        do {
            return try queue.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw translate(error, path: path)
        }
    }

    /// What a path holds, judged from its first 100 bytes (SQLite's header).
    enum Contents: Equatable {
        /// No such file.
        case absent
        /// A file of 0 bytes (SQLite takes it for a new database).
        case empty
        /// An SQLite database at least as long as its header says.
        case sqlite
    }

    /// Reads the header: throws for a file that is not SQLite, and for one shorter than its
    /// header says (which SQLite would call "not a database" or "malformed").
    static func inspect(_ path: String) throws(StoreError) -> Contents {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return .absent }
            throw .notReadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 100)
        let count = read(descriptor, &bytes, bytes.count)
        if count == 0 { return .empty }
        guard count >= header.count, Array(bytes[..<header.count]) == header else { throw .notSQLite(path: path) }
        guard count == 100 else { throw .truncated(path: path, bytes: Int64(count), pages: 0, pageSize: 0) }
        func bigEndian(_ offset: Int, _ width: Int) -> Int64 {
            bytes[offset..<(offset + width)].reduce(0) { $0 << 8 | Int64($1) }
        }
        let pageSize = bigEndian(16, 2) == 1 ? 65536 : bigEndian(16, 2)
        let pages = bigEndian(28, 4)
        // The page count is valid only while the change counter matches "version valid for",
        // and says nothing while a write-ahead log holds pages: a checkpoint that the disk
        // filled up in the middle of leaves the new header on a short file, and SQLite reads
        // the rest from the log.
        var status = stat(), log = stat()
        let logged = stat(path + "-wal", &log) == 0 && log.st_size > 0
        if pages > 0, !logged, bigEndian(24, 4) == bigEndian(92, 4), fstat(descriptor, &status) == 0,
           Int64(status.st_size) < pages * pageSize {
            throw .truncated(path: path, bytes: Int64(status.st_size), pages: pages, pageSize: pageSize)
        }
        return .sqlite
    }

    /// SQLite needs the file and, for its WAL and shared-memory files, the directory.
    private static func checkWritable(_ path: String, exists: Bool) throws(StoreError) {
        if exists || access(path, F_OK) == 0 {
            let descriptor = open(path, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { throw .notWritable(path: path, reason: String(cString: strerror(errno))) }
            close(descriptor)
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let probe = (directory.isEmpty ? "/" : directory) + "/.procwatch-\(getpid())-\(UInt64.random(in: 0...UInt64.max))-probe"
        let descriptor = open(probe, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let shown = directory.isEmpty ? "/" : directory
            if errno == ENOENT, access(shown, F_OK) != 0 { throw .notWritable(path: path, reason: "no such directory \(shown)") }
            throw .notWritable(path: path, reason: "its directory \(shown) is not writable (\(String(cString: strerror(errno))))")
        }
        close(descriptor)
        unlink(probe)
    }

    private static func checkOrCreateSchema(_ db: Database, path: String) throws {
        if try tableCount(db) == 0 {
            try StoreSchema.create(db)
            return
        }
        try checkSchema(db, path: path)
        try StoreSchema.complete(db)
    }

    private static func tableCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0
    }

    /// Refuses another program's database, then a schema version other than ours.
    ///
    /// `PRAGMA application_id` comes first: a table named `meta` is common (Chrome's
    /// databases have one), and its `user_version` means nothing to us. Another non-zero id
    /// is another program's; 0 (never set) is ours only when procwatch's tables are all there.
    private static func checkSchema(_ db: Database, path: String) throws {
        let application = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        if application != StoreSchema.applicationID {
            guard application == 0 else { throw StoreError.foreignDatabase(path: path, applicationID: application) }
            for table in StoreSchema.tables where try !db.tableExists(table) {
                throw StoreError.foreignDatabase(path: path, applicationID: 0)
            }
        }
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        if version > StoreSchema.version { throw StoreError.newerSchema(path: path, version: version) }
        if version < StoreSchema.version { throw StoreError.olderSchema(path: path, version: version) }
    }

    /// GRDB's errors as one line each.
    static func translate(_ error: any Error, path: String) -> StoreError {
        guard let error = error as? DatabaseError else { return .database(path: path, message: "\(error)") }
        switch error.resultCode {
        // Only opened once its header was checked: SQLite then says "not a database" of a
        // file whose pages it cannot make sense of.
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return .damaged(path: path, detail: error.message ?? "\(error.resultCode)")
        case .SQLITE_FULL: return .diskFull(path: path)
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_IOERR:
            return .notWritable(path: path, reason: error.message ?? "\(error.resultCode)")
        default: return .database(path: path, message: error.message ?? "\(error)")
        }
    }
}
