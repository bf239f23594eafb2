import Glibc
@testable import ProcWatch

/// A loop block device of the test's own — added with `LOOP_CTL_ADD` under a number no other
/// loop device has, backed by a sparse file under /var/tmp, and removed with
/// `LOOP_CTL_REMOVE` afterwards — whose I/O cgroup v1 `blkio` counts.
///
/// v1 `blkio` counts a device's I/O only once blk-throttle is set up on its queue, which this
/// kernel does when a throttle rule is first written for the device (see
/// ``CgroupUsage/ioCountedDevices``); the host's disks have none. Writing `MAJ:MIN 0` (no
/// limit: 0 stands for unlimited) to the hierarchy root's `blkio.throttle.read_bps_device` sets
/// it up for this device alone, limiting nothing; the queue's throttle data goes with the
/// device when it is removed, so nothing is left on the host's disks or on a loop device
/// someone else uses.
struct TestLoopDevice {
    /// `/dev/loopN`.
    let path: String
    /// `MAJ:MIN`, as the blkio files name it.
    let device: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let loopControlAdd: UInt = 0x4C80     // LOOP_CTL_ADD, <linux/loop.h>
    static let loopControlRemove: UInt = 0x4C81  // LOOP_CTL_REMOVE

    /// Makes a device of `megabytes` MiB, runs `body` with it, and removes it whatever happens.
    static func with<T>(megabytes: Int, blkioRoot: String, _ body: (TestLoopDevice) throws -> T) throws -> T {
        var template = Array("/var/tmp/procwatch-loop-XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else { throw Failure(description: "mkstemp: errno \(errno)") }
        let backing = String(cString: template)
        defer { unlink(backing) }
        let sized = ftruncate(descriptor, off_t(megabytes) << 20)
        close(descriptor)
        guard sized == 0 else { throw Failure(description: "ftruncate \(backing): errno \(errno)") }

        let control = open("/dev/loop-control", O_RDWR | O_CLOEXEC)
        guard control >= 0 else { throw Failure(description: "open /dev/loop-control: errno \(errno)") }
        defer { close(control) }
        // A number far above the ones losetup hands out (the lowest free), free of any device.
        var number: Int32 = -1
        for candidate in Int32(200)..<Int32(1000) {
            let added = ioctl(control, loopControlAdd, candidate)
            if added >= 0 { number = added; break }
            guard errno == EEXIST else { throw Failure(description: "LOOP_CTL_ADD \(candidate): errno \(errno)") }
        }
        guard number >= 0 else { throw Failure(description: "no free loop device number in 200..<1000") }
        defer {
            // The last closer (losetup, udev's probe) may still hold it for a moment: EBUSY.
            eventually(timeout: .seconds(5)) { ioctl(control, loopControlRemove, number) == 0 || errno == ENODEV }
        }
        let path = "/dev/loop\(number)"
        let attach = try Spawn.capture(["/usr/sbin/losetup", path, backing])
        guard attach.status == 0 else { throw Failure(description: "losetup \(path): \(attach.stderr)") }
        defer { _ = try? Spawn.capture(["/usr/sbin/losetup", "-d", path]) }
        guard let device = KernelFacts.readSmallFile("/sys/block/loop\(number)/dev")?.split(separator: "\n").first.map(String.init) else {
            throw Failure(description: "no /sys/block/loop\(number)/dev")
        }
        let rule = blkioRoot + "/blkio.throttle.read_bps_device"
        let file = open(rule, O_WRONLY | O_CLOEXEC)
        guard file >= 0 else { throw Failure(description: "open \(rule): errno \(errno)") }
        let line = Array("\(device) 0".utf8)
        let written = write(file, line, line.count)
        close(file)
        guard written == line.count else { throw Failure(description: "write '\(device) 0' to \(rule): errno \(errno)") }
        return try body(TestLoopDevice(path: path, device: device))
    }
}
