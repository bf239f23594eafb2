import Foundation

/// A batch as a spool file holds it: `PWSB`, the lengths of its three parts (4 bytes each,
/// little-endian), its other fields as JSON, its `events` rows, its `processes` rows.
/// A record cut short (the daemon was killed while writing it) reads as the end of the file.
enum SpoolRecord {
    private static let magic: [UInt8] = Array("PWSB".utf8)
    private static let headerSize = 16

    /// The record of `batch`.
    static func encode(_ batch: FleetBatch) -> [UInt8] {
        var fields = batch
        fields.events = []
        fields.processes = []
        // Encoding plain values and strings cannot fail.
        let json = Array((try? JSONEncoder().encode(fields)) ?? Data())
        var bytes = magic
        for length in [json.count, batch.events.count, batch.processes.count] {
            withUnsafeBytes(of: UInt32(length).littleEndian) { bytes.append(contentsOf: $0) }
        }
        bytes.reserveCapacity(headerSize + json.count + batch.events.count + batch.processes.count)
        bytes += json
        bytes += batch.events
        bytes += batch.processes
        return bytes
    }

    /// The batch of the record at `offset` of `bytes` and the offset after it; nil at the
    /// end, or where the record is cut short or not a record.
    static func decode(_ bytes: [UInt8], at offset: Int) -> (batch: FleetBatch, next: Int)? {
        guard bytes.count - offset >= headerSize, Array(bytes[offset..<offset + 4]) == magic else { return nil }
        func length(_ index: Int) -> Int {
            let start = offset + 4 + 4 * index
            return Int(UInt32(bytes[start]) | UInt32(bytes[start + 1]) << 8 | UInt32(bytes[start + 2]) << 16 | UInt32(bytes[start + 3]) << 24)
        }
        let (jsonLength, eventsLength, processesLength) = (length(0), length(1), length(2))
        let jsonStart = offset + headerSize
        let end = jsonStart + jsonLength + eventsLength + processesLength
        guard end <= bytes.count,
              var batch = try? JSONDecoder().decode(FleetBatch.self, from: Data(bytes[jsonStart..<jsonStart + jsonLength]))
        else { return nil }
        let eventsStart = jsonStart + jsonLength
        batch.events = Array(bytes[eventsStart..<eventsStart + eventsLength])
        batch.processes = Array(bytes[eventsStart + eventsLength..<end])
        return (batch, end)
    }
}
