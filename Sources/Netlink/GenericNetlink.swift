import CProcWatch

/// Generic netlink (NETLINK_GENERIC): family lookup and request framing.
package enum GenericNetlink {
    /// A request: nlmsghdr (type = family, NLM_F_REQUEST) + genlmsghdr + attributes.
    /// With `acknowledged`, NLM_F_ACK asks the kernel to answer even a request that returns nothing.
    package static func request(family: UInt16, command: UInt8, version: UInt8 = 1, sequence: UInt32,
                                acknowledged: Bool = false,
                                attributes: [(type: UInt16, value: [UInt8])]) -> [UInt8] {
        var payload: [UInt8] = [command, version, 0, 0]
        for attribute in attributes { payload += NetlinkAttributes.encode(type: attribute.type, value: attribute.value) }
        let flags = UInt16(NLM_F_REQUEST) | (acknowledged ? UInt16(NLM_F_ACK) : 0)
        return NetlinkMessage.encode(type: family, flags: flags, sequence: sequence, payload: payload)
    }

    /// Why a family could not be resolved.
    package enum LookupError: Error, Equatable {
        /// The kernel has no such family (it answered ENOENT).
        case noSuchFamily
        /// A system call or the kernel failed.
        case failed(NetlinkError)
        /// No answer came.
        case noAnswer
    }

    /// Asks the controller (GENL_ID_CTRL) for `name`'s family id (CTRL_CMD_GETFAMILY).
    package static func resolveFamily(_ name: String, on socket: NetlinkSocket) throws(LookupError) -> UInt16 {
        let sequence = UInt32.random(in: 1...UInt32.max)
        let request = request(family: UInt16(GENL_ID_CTRL), command: UInt8(CTRL_CMD_GETFAMILY), sequence: sequence,
                              attributes: [(UInt16(CTRL_ATTR_FAMILY_NAME), Array(name.utf8) + [0])])
        do { try socket.send(request) } catch { throw .failed(error) }
        let batch = DatagramBatch(capacity: 4, slotSize: 16384)
        for _ in 0..<8 {
            let outcome: ReceiveOutcome
            do { outcome = try socket.receive(into: batch, timeout: .seconds(2)) } catch { throw .failed(error) }
            guard case .datagrams(let count) = outcome else { throw .noAnswer }
            for index in 0..<count {
                for case .success(let message) in NetlinkMessages(batch.datagram(index)) where message.sequence == sequence {
                    if let code = message.errorCode, code != 0 {
                        if code == -ENOENT { throw .noSuchFamily }
                        throw .failed(NetlinkError(call: "CTRL_CMD_GETFAMILY", errno: .init(rawValue: -code)))
                    }
                    guard message.payload.count > 4 else { continue }
                    let attributes = UnsafeRawBufferPointer(rebasing: message.payload[4...])
                    for attribute in NetlinkAttributes(attributes) where attribute.type == UInt16(CTRL_ATTR_FAMILY_ID) {
                        if let id = attribute.value.read(UInt16.self, at: 0) { return id }
                    }
                }
            }
        }
        throw .noAnswer
    }
}
