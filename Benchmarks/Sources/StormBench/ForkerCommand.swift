import ArgumentParser
import Glibc

/// `storm-bench forker`: one storm generator. Forks `count` times, one child at a time;
/// the child exits at once (or execs `--exec PATH`), the parent reaps it. Prints the
/// number of children actually made: the ground truth of a storm.
struct Forker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fork COUNT children one after the other (exit at once, or exec a program) and print how many were made."
    )

    @Option(name: .long, help: "How many forks.")
    var count: Int

    @Option(name: .long, help: "Program each child execs (with no arguments), e.g. /bin/true.")
    var exec: String?

    func run() throws {
        // Everything the child touches is prepared before the first fork: after fork, the
        // child only calls execv and _exit.
        let path = exec.map { strdup($0)! }
        var argv: [UnsafeMutablePointer<CChar>?] = [path, nil]
        defer { free(path) }

        var made = 0
        var failures = 0
        var lastErrno: Int32 = 0
        argv.withUnsafeMutableBufferPointer { args in
            for _ in 0..<count {
                let child = fork()
                if child == 0 {
                    if let path { execv(path, args.baseAddress!) }
                    _exit(path == nil ? 0 : 127)
                }
                if child < 0 {
                    failures += 1
                    lastErrno = errno
                    continue
                }
                made += 1
                var status: Int32 = 0
                while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            }
        }
        if failures > 0 {
            printError("storm-bench forker: \(failures) forks failed (last: \(String(cString: strerror(lastErrno))))")
        }
        print(made)
    }
}
