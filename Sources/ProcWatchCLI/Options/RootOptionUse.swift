import ArgumentParser

/// The live view's options are the root command's, so swift-argument-parser accepts them
/// before and after any subcommand (`procwatch run -D 5 -- make`). A subcommand that has
/// no use for one must say so rather than ignore it.
extension ProcWatchCommand {
    /// The root options given on this command line, by the name the user reads in `--help`.
    package var givenOptions: [String] {
        var given: [String] = []
        if duration != nil { given.append("-D") }
        if statistics { given.append("-S") }
        if quiet { given.append("-q") }
        if extra { given.append("-x") }
        if shortNames { given.append("-s") }
        if stripDirectory { given.append("-d") }
        if commNames { given.append("-c") }
        if lineBuffered { given.append("-l") }
        if realTime { given.append("-r") }
        if glyphs { given.append("-g") }
        if everything { given.append("-X") }
        if json { given.append("--json") }
        if selecting.events != nil { given.append("-e") }
        if selecting.allEvents { given.append("-E") }
        if selecting.pid != nil { given.append("--pid") }
        if selecting.tree != nil { given.append("--tree") }
        if selecting.comm != nil { given.append("--comm") }
        if selecting.user != nil { given.append("--user") }
        if selecting.cgroup != nil { given.append("--cgroup") }
        if selecting.container != nil { given.append("--container") }
        if containerColumn { given.append("--container-column") }
        if selecting.includeSelf { given.append("--include-self") }
        if sourcing.source != nil { given.append("--source") }
        if sourcing.connect != nil { given.append("--connect") }
        if ancestry { given.append("--ancestry") }
        if color != .auto { given.append("--color") }
        if width != nil { given.append("--width") }
        if noTruncate { given.append("--no-truncate") }
        return given
    }

    /// Throws `COMMAND does not take OPTION` for the first given root option not in `used`.
    package func rejectOptions(notUsedBy command: String, used: Set<String>) throws {
        if let unused = givenOptions.first(where: { !used.contains($0) }) {
            throw ValidationError("\(command) does not take \(unused)")
        }
    }
}
