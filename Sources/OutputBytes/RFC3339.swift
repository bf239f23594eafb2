/// RFC 3339 UTC time with microseconds, written as bytes without Foundation (no `Date`, no
/// `String` per event): the JSON view's `time` member and the store's `time` columns are
/// the same bytes from this one writer.
extension Array where Element == UInt8 {
    /// `2026-11-22T21:34:05.123456Z` for Unix-epoch nanoseconds (before 1970 too).
    @inlinable
    package mutating func append(rfc3339UnixNanoseconds nanoseconds: Int64) {
        let seconds = CivilTime.floorDivide(nanoseconds, 1_000_000_000)
        let micros = (nanoseconds - seconds * 1_000_000_000) / 1000
        let days = CivilTime.floorDivide(seconds, 86_400)
        let (year, month, day) = CivilTime.date(days: days)
        append(decimal: year, width: 4)
        append(UInt8(ascii: "-"))
        append(decimal: month, width: 2)
        append(UInt8(ascii: "-"))
        append(decimal: day, width: 2)
        append(UInt8(ascii: "T"))
        append(clockSecondOfDay: seconds - days * 86_400, micros: micros)
        append(UInt8(ascii: "Z"))
    }

    /// `21:34:05.123456`
    @inlinable
    package mutating func append(clockSecondOfDay secondOfDay: Int64, micros: Int64) {
        append(decimal: secondOfDay / 3600, width: 2)
        append(UInt8(ascii: ":"))
        append(decimal: secondOfDay / 60 % 60, width: 2)
        append(UInt8(ascii: ":"))
        append(decimal: secondOfDay % 60, width: 2)
        append(UInt8(ascii: "."))
        append(decimal: micros, width: 6)
    }
}

/// Calendar arithmetic for ``Swift/Array/append(rfc3339UnixNanoseconds:)``.
@usableFromInline
package enum CivilTime {
    /// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    @inlinable
    package static func date(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Division rounding toward negative infinity (times before 1970 stay in their second).
    @inlinable
    package static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }
}
