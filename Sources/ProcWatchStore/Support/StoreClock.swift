import OutputBytes
#if canImport(Glibc)
import Glibc
#endif

/// Clock readings and RFC 3339 text for the store.
package enum StoreClock {
    /// CLOCK_REALTIME in nanoseconds.
    package static func unixNanoseconds() -> Int64 { read(CLOCK_REALTIME) }

    /// CLOCK_MONOTONIC in nanoseconds (the kernel's event clock).
    package static func monotonicNanoseconds() -> Int64 { read(CLOCK_MONOTONIC) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// `2026-11-23T01:30:00.123456Z` (the bytes the JSON view writes, as text).
    package static func rfc3339(unixNanoseconds: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.append(rfc3339UnixNanoseconds: unixNanoseconds)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.ffffff]]` with an optional `Z` (UTC;
    /// a space may replace the `T`) into Unix nanoseconds.
    package static func parse(_ text: String) -> Int64? {
        let pattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?Z?$/
        guard let match = text.wholeMatch(of: pattern) else { return nil }
        guard let year = Int(match.1), let month = Int(match.2), let day = Int(match.3),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        let hour = match.4.flatMap { Int($0) } ?? 0
        let minute = match.5.flatMap { Int($0) } ?? 0
        let second = match.6.flatMap { Int($0) } ?? 0
        guard hour < 24, minute < 60, second < 61 else { return nil }
        var fraction: Int64 = 0
        if let digits = match.7 {
            fraction = Int64(digits + String(repeating: "0", count: 9 - digits.count)) ?? 0
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Int64(timegm(&parts)) * 1_000_000_000 + fraction
    }
}
