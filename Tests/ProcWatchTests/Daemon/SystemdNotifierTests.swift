import Glibc
import Testing
@testable import ProcWatchDaemon

/// sd_notify by hand: the exact datagrams a socket bound by the test receives, at a path
/// and at an abstract name, as systemd's would.
@Suite("systemd notifier", .serialized)
struct SystemdNotifierTests {
    /// Binds a datagram socket at `name` (`@…` for an abstract one), runs `body` with it,
    /// returns every datagram it received.
    func withListener(_ name: String, _ body: (SystemdNotifier) throws -> Void) throws -> [String] {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(name.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        try #require(bound == 0, "bind \(name): \(String(cString: strerror(errno)))")
        defer { if !name.hasPrefix("@") { unlink(name) } }
        try body(try SystemdNotifier(socketPath: name))
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count < 0 { break }
            messages.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
        return messages
    }

    @Test(arguments: ["/tmp/procwatch-notify-\(getpid()).sock", "@procwatch-notify-\(getpid())"])
    func everyNotificationArrivesExactly(name: String) throws {
        var before: UInt64 = 0
        var after: UInt64 = 0
        let messages = try withListener(name) { notifier in
            try notifier.ready(status: "recording; 0 clients")
            try notifier.status("recording\n3 clients")
            before = SystemdNotifier.monotonicMicroseconds()
            try notifier.reloading()
            after = SystemdNotifier.monotonicMicroseconds()
            try notifier.ready()
            try notifier.stopping(status: "final commit")
        }
        try #require(messages.count == 5, "\(messages)")
        #expect(messages[0] == "READY=1\nSTATUS=recording; 0 clients")
        #expect(messages[1] == "STATUS=recording 3 clients")
        let reloading = messages[2].split(separator: "\n")
        #expect(reloading.count == 2 && reloading[0] == "RELOADING=1" && reloading[1].hasPrefix("MONOTONIC_USEC="))
        let stamp = UInt64(reloading.last?.dropFirst("MONOTONIC_USEC=".count) ?? "") ?? 0
        #expect((before...after).contains(stamp), "\(stamp) not in \(before)...\(after)")
        #expect(messages[3] == "READY=1")
        #expect(messages[4] == "STOPPING=1\nSTATUS=final commit")
    }

    @Test func badSocketsAreRefusedWithTheirErrno() {
        #expect(throws: SystemdNotifierError(operation: "NOTIFY_SOCKET=relative/path", errno: EINVAL)) {
            try SystemdNotifier(socketPath: "relative/path")
        }
        #expect(throws: SystemdNotifierError(operation: "NOTIFY_SOCKET=@", errno: EINVAL)) { try SystemdNotifier(socketPath: "@") }
        let nobody = "/tmp/procwatch-notify-nobody-\(getpid()).sock"
        #expect(throws: SystemdNotifierError(operation: "sendto \(nobody)", errno: ENOENT)) {
            try SystemdNotifier(socketPath: nobody).ready()
        }
        #expect(SystemdNotifierError(operation: "sendto /x", errno: ENOENT).description
                == "systemd notification: sendto /x: No such file or directory")
    }

    @Test func theEnvironmentNamesTheSocket() throws {
        let saved = getenv("NOTIFY_SOCKET").map { String(cString: $0) }
        defer { if let saved { setenv("NOTIFY_SOCKET", saved, 1) } else { unsetenv("NOTIFY_SOCKET") } }
        unsetenv("NOTIFY_SOCKET")
        #expect(try SystemdNotifier.fromEnvironment() == nil)
        setenv("NOTIFY_SOCKET", "", 1)
        #expect(try SystemdNotifier.fromEnvironment() == nil)
        setenv("NOTIFY_SOCKET", "@/org/freedesktop/systemd1/notify", 1)
        #expect(try SystemdNotifier.fromEnvironment()?.socketPath == "@/org/freedesktop/systemd1/notify")
    }
}
