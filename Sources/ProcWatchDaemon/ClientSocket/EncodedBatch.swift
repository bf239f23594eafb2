import NIOCore
import ProcWatch

/// One kernel batch on its way to the clients: each event's contract line is written at
/// most once, when the first client that selects it asks, however many clients get it.
struct EncodedBatch {
    let events: [EnrichedEvent]
    /// Every line written so far, one after another.
    private var bytes: [UInt8] = []
    /// Where event `i`'s line is in ``bytes`` (`lower == -1`: not written yet).
    private var starts: [Int]
    private var ends: [Int]
    /// Whether the lines were written in event order with none skipped so far, so that the
    /// first `written` of them are ``bytes`` as it stands.
    private var inOrder = true
    private var written = 0
    /// The whole batch as one buffer, shared (not copied) by every client that takes it all.
    private var whole: ByteBuffer?

    init(_ events: [EnrichedEvent]) {
        self.events = events
        starts = Array(repeating: -1, count: events.count)
        ends = Array(repeating: -1, count: events.count)
        bytes.reserveCapacity(events.count * 320)
    }

    /// Appends event `index`'s line to `buffer`, writing the line first if no client took it yet.
    mutating func append(_ index: Int, to buffer: inout ByteBuffer) {
        encode(index)
        bytes.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[starts[index]..<ends[index]])) }
    }

    /// Every event's line, in order, as one buffer (copied once per batch, then shared).
    mutating func all(allocator: ByteBufferAllocator) -> ByteBuffer {
        if let whole { return whole }
        for index in events.indices { encode(index) }
        var buffer: ByteBuffer
        if inOrder {
            buffer = allocator.buffer(bytes: bytes)
        } else {
            buffer = allocator.buffer(capacity: bytes.count)
            for index in events.indices { append(index, to: &buffer) }
        }
        whole = buffer
        return buffer
    }

    private mutating func encode(_ index: Int) {
        guard starts[index] < 0 else { return }
        if index != written { inOrder = false }
        written += 1
        starts[index] = bytes.count
        ProtocolLines.appendEvent(events[index], to: &bytes)
        ends[index] = bytes.count
    }
}
