import OutputBytes

/// Formats Unix-epoch nanoseconds without Foundation (no `Date` per event).
enum WallClock {
    /// Days since 1970-01-01 of a civil date (the inverse of `CivilTime.date(days:)`, same algorithm).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Reads back exactly what ``appendRFC3339(unixNanoseconds:to:)`` writes
    /// (`2026-11-22T21:34:05.123456Z`, 27 characters) as Unix-epoch nanoseconds; nil for
    /// anything else, an impossible date or time included.
    static func parseRFC3339(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 27 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        let separators: [(Int, Character)] = [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (26, "Z")]
        guard separators.allSatisfy({ bytes[$0.0] == $0.1.asciiValue! }),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              let micros = number(20..<26),
              (1...12).contains(month), day >= 1, hour < 24, minute < 60, second < 60
        else { return nil }
        let days = days(year: year, month: month, day: day)
        // 31 February and the like: the date must survive the round trip.
        guard CivilTime.date(days: days) == (year, month, day) else { return nil }
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000 + micros) * 1000
    }

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
