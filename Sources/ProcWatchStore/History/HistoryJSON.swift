import OutputBytes

extension HistoryEntry {
    /// One JSON object (no newline): `start` (RFC 3339 UTC), `host` (the fleet store's), `uid`, `user`, `pid`, `ppid`,
    /// `comm`, `exe`, `cmdline`, `duration_s`, `cpu_user_us`, `cpu_system_us` and the event
    /// contract's `status` object, written by the contract's own writers. As in the
    /// contract, what is unknown is absent (`status` and `duration_s` while it runs).
    public func json(userName: (UInt32) -> String) -> String {
        var bytes: [UInt8] = []
        bytes.append(ascii: "{\"start\":")
        bytes.append(jsonString: StoreClock.rfc3339(unixNanoseconds: start))
        if let host {
            bytes.append(ascii: ",\"host\":")
            bytes.append(jsonString: host)
        }
        if let uid {
            bytes.append(ascii: ",\"uid\":")
            bytes.append(number: uid)
            bytes.append(ascii: ",\"user\":")
            bytes.append(jsonString: userName(uid))
        }
        bytes.append(ascii: ",\"pid\":")
        bytes.append(number: pid)
        bytes.append(ascii: ",\"ppid\":")
        bytes.append(number: ppid)
        bytes.append(ascii: ",\"comm\":")
        bytes.append(jsonString: comm)
        if let executable {
            bytes.append(ascii: ",\"exe\":")
            bytes.append(jsonString: executable)
        }
        if !commandLine.isEmpty {
            bytes.append(ascii: ",\"cmdline\":")
            bytes.append(jsonStrings: commandLine)
        }
        if let durationSeconds {
            bytes.append(ascii: ",\"duration_s\":")
            bytes.append(utf8: RecordingReport.seconds(durationSeconds))
        }
        if let cpuUserMicroseconds {
            bytes.append(ascii: ",\"cpu_user_us\":")
            bytes.append(number: cpuUserMicroseconds)
            bytes.append(ascii: ",\"cpu_system_us\":")
            bytes.append(number: cpuSystemMicroseconds ?? 0)
        }
        if let status {
            bytes.append(ascii: ",\"status\":")
            bytes.append(json: status)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
