/// A command line as one line a shell (bash, zsh, ksh) would split back into the same words.
enum ShellWords {
    /// The words joined with spaces, each quoted only when a shell would otherwise split,
    /// expand or drop it: `sh -c 'echo hi'`, `test ''`, `printf $'%s\n' 'it'\''s'`.
    static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }

    /// A word as is when it holds only characters no shell treats specially; in single
    /// quotes otherwise (a single quote inside becomes `'\''`); in `$'…'` when it holds a
    /// control character (a newline, a tab), so the line stays one line.
    static func quote(_ word: String) -> String {
        if !word.isEmpty, word.utf8.allSatisfy(isPlain) { return word }
        guard word.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
        }
        var quoted = "$'"
        for scalar in word.unicodeScalars {
            switch scalar {
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\\": quoted += "\\\\"
            case "'": quoted += "\\'"
            case "\u{0}"..<" ", "\u{7F}":
                let digits = String(scalar.value, radix: 16)
                quoted += "\\x" + (digits.count == 1 ? "0" : "") + digits
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "'"
    }

    /// Letters, digits and `_ @ % + = : , . / -`; any byte past ASCII (UTF-8 text) too.
    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "_"), UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: ":"),
             UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "-"):
            true
        default:
            byte >= 0x80
        }
    }
}
