import Glibc

/// A named pipe a test's process waits at (`read go < PATH` in a shell: blocked in `open`,
/// using no CPU) until the test calls ``release()``.
struct FIFOGate {
    /// The FIFO's path (under /tmp, unique).
    let path = "/tmp/procwatch-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    init() { mkfifo(path, 0o600) }

    /// Lets the waiting process on: opens the FIFO for writing (which the reader's `open` was
    /// waiting for) and writes a line.
    func release() {
        let fd = open(path, O_WRONLY)
        _ = write(fd, "go\n", 3)
        close(fd)
    }

    /// Removes the FIFO (once no process is waiting at it).
    func remove() { unlink(path) }
}
