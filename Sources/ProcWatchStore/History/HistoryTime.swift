/// A `--since`/`--until` value of `procwatch history`: an instant, in Unix nanoseconds.
///
/// Accepted: a span ago (`90s`, `90m`, `3h`, `2d`, `1w`), `today` and `yesterday` (the
/// start of that day in UTC: midnight UTC, whatever the local time zone), an RFC 3339
/// timestamp (`2026-11-23T03:00:00Z`, `2026-11-23T03:00:00+01:00`) or `YYYY-MM-DD[ HH:MM[:SS]]`
/// (UTC; a `T` may replace the space).
public enum HistoryTime {
    /// The examples a refusal lists.
    public static let examples = "3h, 90m, 2d (ago), today, yesterday (UTC midnight), 2026-11-23, '2026-11-23 03:00' or 2026-11-23T03:00:00Z"

    /// The instant `text` names, relative to `now` (Unix nanoseconds; nil: the real-time
    /// clock's); nil when it is none of the accepted forms.
    public static func parse(_ text: String, now: Int64? = nil) -> Int64? {
        let now = now ?? StoreClock.unixNanoseconds()
        if let match = text.wholeMatch(of: /(\d{1,9})([smhdw])/), let count = Int64(match.1) {
            let unit: Int64 = switch match.2 {
            case "s": 1
            case "m": 60
            case "h": 3600
            case "d": 86_400
            default: 604_800
            }
            return now - count * unit * 1_000_000_000
        }
        let day: Int64 = 86_400 * 1_000_000_000
        let midnight = now >= 0 ? now / day * day : (now - day + 1) / day * day
        switch text {
        case "today": return midnight
        case "yesterday": return midnight - day
        default: break
        }
        // An RFC 3339 offset: the time given is that far east of UTC.
        if let match = text.wholeMatch(of: /(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)([+-])(\d{2}):?(\d{2})/),
           let local = StoreClock.parse(String(match.1)), let hours = Int64(match.3), let minutes = Int64(match.4),
           hours < 24, minutes < 60 {
            let east = (hours * 3600 + minutes * 60) * 1_000_000_000
            return match.2 == "+" ? local - east : local + east
        }
        return StoreClock.parse(text)
    }
}
