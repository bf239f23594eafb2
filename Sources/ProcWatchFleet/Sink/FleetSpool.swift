#if canImport(Glibc)
import Glibc
#endif

/// How much the sink holds while the server cannot take its batches.
public struct FleetSpoolLimits: Sendable, Equatable {
    /// Bytes of batches held in memory. Default 64 MiB.
    public var memoryBytes: Int
    /// Bytes of batches held in spool files past that (0: none, e.g. for `record --to`).
    /// Default 1 GiB.
    public var fileBytes: Int64
    /// The directory of the spool files (`<state>/spool`), nil for none.
    public var directory: String?

    /// The defaults: 64 MiB in memory, then up to 1 GiB in `directory`.
    public init(memoryBytes: Int = 64 << 20, fileBytes: Int64 = 1 << 30, directory: String?) {
        self.memoryBytes = memoryBytes
        self.fileBytes = directory == nil ? 0 : fileBytes
        self.directory = directory
    }
}

/// The batches not yet written, oldest first: in memory up to a bound, then appended to
/// segment files (`<directory>/NNNNNNNNNNNN.spool`) up to another, then dropped (the caller
/// counts what it dropped). Memory always holds older batches than the files: once a batch
/// went to a file, every later one does too until the files are written out. Files left by
/// an earlier run (killed) are found at the start and come first.
///
/// With a directory, the batches in memory are also appended to a journal, a segment file of
/// their own numbered below the files that follow them, before ``append(_:)`` returns: a run
/// killed with batches in memory (kill -9, a crash) leaves them there for the next start. The
/// journal is removed whenever memory is written out, so it holds a few batches at most while
/// the server answers; batches of it already written are skipped at the next start by their
/// `batches` claim. (Memory without a directory, as for `record --to`, dies with the process.)
///
/// Not thread-safe: the sink holds it under its lock. File errors (a full disk) make the
/// file part count as full.
struct FleetSpool {
    /// A segment file is closed and a new one begun past this size.
    static let segmentBytes = 16 << 20

    let limits: FleetSpoolLimits
    private var memory: [FleetBatch] = []
    private var memoryHead = 0
    private(set) var memoryBytes = 0
    /// Segment files, oldest first, with their sizes.
    private var segments: [(path: String, size: Int)] = []
    private var nextSegment = 1
    /// The journal of the batches in memory, and its size (nil: memory is empty, or no directory).
    private var journal: (path: String, size: Int)?
    /// The oldest segment's contents and the offset of its next record.
    private var reading: (path: String, bytes: [UInt8], offset: Int)?

    /// A spool with `limits`, holding the spool files an earlier run left in its directory.
    init(limits: FleetSpoolLimits) {
        self.limits = limits
        guard let directory = limits.directory else { return }
        mkdir(directory, 0o700)
        guard let listing = opendir(directory) else { return }
        defer { closedir(listing) }
        var names: [String] = []
        while let entry = readdir(listing) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".spool"), Int(name.dropLast(6)) != nil { names.append(name) }
        }
        for name in names.sorted() {
            let path = "\(directory)/\(name)"
            var status = stat()
            guard stat(path, &status) == 0 else { continue }
            segments.append((path, Int(status.st_size)))
            nextSegment = max(nextSegment, (Int(name.dropLast(6)) ?? 0) + 1)
        }
    }

    /// Batches waiting.
    var count: Int { memory.count - memoryHead + fileBatches }
    private var fileBatches = 0
    /// Events of the batches waiting that were appended by this run (an earlier run's files
    /// are not counted until read).
    private(set) var events = 0
    /// Bytes waiting in files.
    var fileBytes: Int { segments.reduce(0) { $0 + $1.size } }
    /// Whether files hold batches (an earlier run's count as some until read).
    var hasFiles: Bool { !segments.isEmpty }

    /// Adds a batch after the others; false when there is no room for it (it is dropped).
    mutating func append(_ batch: FleetBatch) -> Bool {
        if segments.isEmpty, memoryBytes + batch.bytes <= limits.memoryBytes {
            journalAppend(batch)
            memory.append(batch)
            memoryBytes += batch.bytes
            events += batch.recordedEvents
            return true
        }
        return appendToFile(batch)
    }

    /// The oldest batch, left in place until ``removeFirst()``.
    mutating func first() -> FleetBatch? {
        if memoryHead < memory.count { return memory[memoryHead] }
        while let segment = segments.first {
            if reading?.path != segment.path {
                reading = (segment.path, Self.read(segment.path), 0)
            }
            if let (batch, _) = SpoolRecord.decode(reading!.bytes, at: reading!.offset) { return batch }
            // Read to its end (or to a record cut short by a kill): the file is done.
            unlink(segment.path)
            segments.removeFirst()
            reading = nil
        }
        return nil
    }

    /// Removes the batch ``first()`` returned (it was written).
    mutating func removeFirst() {
        if memoryHead < memory.count {
            memoryBytes -= memory[memoryHead].bytes
            events -= memory[memoryHead].recordedEvents
            memoryHead += 1
            if memoryHead > 1024 || memoryHead == memory.count {
                memory.removeFirst(memoryHead)
                memoryHead = 0
            }
            if memory.isEmpty, let written = journal {
                unlink(written.path)
                journal = nil
            }
            return
        }
        guard let current = reading, let (batch, next) = SpoolRecord.decode(current.bytes, at: current.offset) else { return }
        reading?.offset = next
        events = max(0, events - batch.recordedEvents)
        fileBatches = max(0, fileBatches - 1)
    }

    private mutating func appendToFile(_ batch: FleetBatch) -> Bool {
        guard let directory = limits.directory else { return false }
        let record = SpoolRecord.encode(batch)
        guard Int64(fileBytes + record.count) <= limits.fileBytes else { return false }
        // Never append to the segment being read: its bytes are already in memory.
        if segments.isEmpty || segments[segments.count - 1].size + record.count > Self.segmentBytes
            || segments[segments.count - 1].path == reading?.path {
            segments.append((Self.segmentPath(directory, nextSegment), 0))
            nextSegment += 1
        }
        guard Self.append(record, to: segments[segments.count - 1]) else { return false }
        segments[segments.count - 1].size += record.count
        fileBatches += 1
        events += batch.recordedEvents
        return true
    }

    /// Copies `batch`, about to be held in memory, to the journal (begun if there is none).
    /// A failure (a full disk) leaves the batch in memory only, as without a directory.
    private mutating func journalAppend(_ batch: FleetBatch) {
        guard let directory = limits.directory else { return }
        if journal == nil {
            journal = (Self.segmentPath(directory, nextSegment), 0)
            nextSegment += 1
        }
        let record = SpoolRecord.encode(batch)
        if let current = journal, Self.append(record, to: current) { journal?.size += record.count }
    }

    /// Appends `record` to the segment file `segment` (its size before: what a failed write
    /// is cut back to, for a partial record would read as the segment's end).
    private static func append(_ record: [UInt8], to segment: (path: String, size: Int)) -> Bool {
        let descriptor = open(segment.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let written = record.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == record.count else {
            _ = ftruncate(descriptor, off_t(segment.size))
            return false
        }
        return true
    }

    private static func segmentPath(_ directory: String, _ number: Int) -> String {
        let digits = String(number)
        return "\(directory)/\(String(repeating: "0", count: max(0, 12 - digits.count)))\(digits).spool"
    }

    private static func read(_ path: String) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = Glibc.read(descriptor, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}
