import Glibc

/// Where the benchmark ran.
struct SystemInfo {
    var date: String
    var kernel: String
    var cpuModel: String
    var cores: Int

    static func current() -> SystemInfo {
        let date = ((try? capture(["date", "-u"])) ?? "").trimmingCharacters
        var names = utsname()
        uname(&names)
        let kernel = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let model = readText("/proc/cpuinfo").split(separator: "\n")
            .first(where: { $0.hasPrefix("model name") })
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { String($0).trimmingSpaces } ?? "unknown"
        return SystemInfo(date: date, kernel: kernel, cpuModel: model, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// The first lines of a printed report.
    func headerLines(title: String) -> [String] {
        [title, "date:   \(date)", "kernel: \(kernel)", "cpu:    \(cpuModel), \(cores) cores"]
    }

    /// The first members of a JSON report.
    var jsonMembers: [(String, JSON)] {
        [("date", .string(date)), ("kernel", .string(kernel)), ("cpu", .object([("model", .string(cpuModel)), ("cores", .int(cores))]))]
    }
}

extension String {
    var trimmingCharacters: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
