import Netlink

/// The messages that turn the proc connector on and off for a socket.
enum SubscriptionRequest {
    /// PROC_CN_MCAST_LISTEN / PROC_CN_MCAST_IGNORE.
    enum Operation: UInt32 {
        case listen = 1
        case ignore = 2
    }

    /// A LISTEN or IGNORE with the classic 4-byte op: understood by every kernel, and
    /// answered by an ack that reaches us (the subscription is for all events).
    static func operation(_ operation: Operation, acknowledgement: UInt32, portID: UInt32 = 0) -> [UInt8] {
        var data: [UInt8] = []
        data.append(integer: operation.rawValue)
        return message(data: data, acknowledgement: acknowledgement, portID: portID)
    }

    /// A LISTEN with a kernel-side filter (`struct proc_input`, Linux 6.6+). Older kernels
    /// ignore an 8-byte message silently, so this is only sent where the kernel takes it.
    static func filter(_ kinds: ProcessEventKinds, acknowledgement: UInt32, portID: UInt32 = 0) -> [UInt8] {
        var data: [UInt8] = []
        data.append(integer: Operation.listen.rawValue)
        data.append(integer: kinds.intersection(.kernelBits).rawValue)
        return message(data: data, acknowledgement: acknowledgement, portID: portID)
    }

    /// nlmsghdr (NLMSG_DONE) + cn_msg {CN_IDX_PROC, CN_VAL_PROC} + data.
    private static func message(data: [UInt8], acknowledgement: UInt32, portID: UInt32) -> [UInt8] {
        var payload: [UInt8] = []
        payload.append(integer: UInt32(1))  // cb_id.idx = CN_IDX_PROC
        payload.append(integer: UInt32(1))  // cb_id.val = CN_VAL_PROC
        payload.append(integer: UInt32(0))  // seq
        payload.append(integer: acknowledgement)
        payload.append(integer: UInt16(data.count))
        payload.append(integer: UInt16(0))  // flags
        payload.append(contentsOf: data)
        return NetlinkMessage.encode(type: NetlinkMessage.done, flags: 0, sequence: 0, portID: portID, payload: payload)
    }
}
