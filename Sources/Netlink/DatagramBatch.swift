import CProcWatch

/// Preallocated receive buffers for one `recvmmsg(2)` call: `capacity` slots of
/// `slotSize` bytes each, reused for every batch so receiving never allocates.
///
/// Owned by the one thread that receives; not `Sendable`.
package final class DatagramBatch {
    /// How many datagrams one receive can return.
    package let capacity: Int
    /// Bytes per slot; a longer datagram is cut there and marked truncated.
    package let slotSize: Int
    /// Number of datagrams filled by the last receive.
    package private(set) var count = 0

    private let storage: UnsafeMutableRawBufferPointer
    private let lengths: UnsafeMutablePointer<Int>
    private let truncated: UnsafeMutablePointer<Bool>
    let headers: UnsafeMutablePointer<procwatch_mmsghdr>
    private let vectors: UnsafeMutablePointer<iovec>

    /// Creates a batch of `capacity` slots of `slotSize` bytes.
    package init(capacity: Int = 64, slotSize: Int = 1024) {
        precondition(capacity > 0 && slotSize > 0)
        self.capacity = capacity
        self.slotSize = slotSize
        storage = .allocate(byteCount: capacity * slotSize, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        truncated = .allocate(capacity: capacity)
        truncated.initialize(repeating: false, count: capacity)
        headers = .allocate(capacity: capacity)
        vectors = .allocate(capacity: capacity)
        for slot in 0..<capacity {
            vectors[slot] = iovec(iov_base: storage.baseAddress! + slot * slotSize, iov_len: slotSize)
        }
        resetHeaders()
    }

    deinit {
        storage.deallocate()
        lengths.deallocate()
        truncated.deallocate()
        headers.deallocate()
        vectors.deallocate()
    }

    /// Prepares the `mmsghdr` array for the next `recvmmsg`.
    func resetHeaders() {
        for slot in 0..<capacity {
            var header = procwatch_mmsghdr()
            header.msg_hdr.msg_iov = vectors + slot
            header.msg_hdr.msg_iovlen = 1
            headers[slot] = header
        }
    }

    /// Records what `recvmmsg` filled in.
    func commitReceived(_ received: Int) {
        count = received
        for slot in 0..<received {
            lengths[slot] = min(Int(headers[slot].msg_len), slotSize)
            truncated[slot] = (headers[slot].msg_hdr.msg_flags & Int32(MSG_TRUNC)) != 0
        }
    }

    /// Fills the batch from byte arrays, the way a scripted transport plays the kernel.
    /// Datagrams longer than `slotSize` are cut and marked truncated, as the kernel would.
    package func fill(with datagrams: some Collection<[UInt8]>) {
        precondition(datagrams.count <= capacity)
        count = 0
        for datagram in datagrams {
            let length = min(datagram.count, slotSize)
            datagram.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: storage[(count * slotSize)...].prefix(length))
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: source.prefix(length)))
            }
            lengths[count] = length
            truncated[count] = datagram.count > slotSize
            count += 1
        }
    }

    /// The bytes of datagram `index` (valid until the next receive).
    package func datagram(_ index: Int) -> UnsafeRawBufferPointer {
        precondition(index >= 0 && index < count)
        return UnsafeRawBufferPointer(start: storage.baseAddress! + index * slotSize, count: lengths[index])
    }

    /// Whether datagram `index` was longer than its slot and was cut.
    package func isTruncated(_ index: Int) -> Bool {
        precondition(index >= 0 && index < count)
        return truncated[index]
    }
}
