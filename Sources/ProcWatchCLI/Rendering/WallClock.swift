import OutputBytes

/// Formats Unix-epoch nanoseconds without Foundation (no `Date` per event).
enum WallClock {
    /// `2026-11-22T21:34:05.123456Z` (RFC 3339, UTC, microseconds).
    static func rfc3339(unixNanoseconds: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.append(rfc3339UnixNanoseconds: unixNanoseconds)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `21:34:05.123456` in the given UTC offset (seconds east).
    static func timeOfDay(unixNanoseconds: Int64, utcOffsetSeconds: Int64) -> String {
        let local = unixNanoseconds + utcOffsetSeconds * 1_000_000_000
        let seconds = floorDivide(local, 1_000_000_000)
        let micros = (local - seconds * 1_000_000_000) / 1000
        let secondOfDay = seconds - floorDivide(seconds, 86_400) * 86_400
        return "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))"
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 { CivilTime.floorDivide(value, divisor) }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
