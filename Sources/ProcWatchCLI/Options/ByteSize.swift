/// Sizes as the command line takes them (`512M`, `1G`, `1048576`) and as reports print them.
enum ByteSize {
    /// Bytes of `text`: a whole number, optionally followed by K, M, G or T (powers of 1024;
    /// `KiB`, `MB` and lower case spelled the same); nil for anything else, zero, or overflow.
    static func parse(_ text: String) -> UInt64? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = UInt64(digits), number > 0 else { return nil }
        let units: [String: UInt64] = ["": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40]
        var suffix = text.dropFirst(digits.count).lowercased()
        if suffix.count > 1, suffix.hasSuffix("ib") { suffix.removeLast(2) } else if suffix.count == 2, suffix.hasSuffix("b") { suffix.removeLast() }
        guard let unit = units[suffix] else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: unit)
        return overflow ? nil : bytes
    }

    /// `64 MiB` for whole MiB (GiB, KiB likewise), else `N B`.
    static func describe(_ bytes: UInt64) -> String {
        for (unit, name) in [(UInt64(1) << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] where bytes % unit == 0 && bytes > 0 {
            return "\(bytes / unit) \(name)"
        }
        return "\(bytes) B"
    }
}
