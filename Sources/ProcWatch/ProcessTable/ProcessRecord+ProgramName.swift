extension ProcessRecord {
    /// The program a process runs, as people name it: the base name of `argv[0]`
    /// (`/usr/bin/cc` → `cc`), else its `comm`; nil when neither is known.
    ///
    /// The one place that names programs for counting (`-S`, `stats`, the daemon's
    /// per-program metrics), so that all of them group alike. It runs for every event they
    /// count: the base name is found without splitting.
    package var programName: String? {
        if let argv0 = commandLine.first, !argv0.isEmpty {
            let bytes = argv0.utf8
            guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return argv0 }
            let start = bytes.index(after: slash)
            if start != bytes.endIndex { return String(argv0[start...]) }
            return String(argv0.split(separator: "/").last ?? Substring(argv0))  // "dir/" or "/"
        }
        return name.isEmpty ? nil : name
    }
}
