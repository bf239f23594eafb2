import Glibc
import Testing
@testable import ProcWatch

/// What the library reads about the host for the front ends (no kernel events).
@Suite("Host facts")
struct HostTests {
    @Test func terminalDeviceNumbersAreNamedAsTheKernelNamesThem() {
        #expect(TerminalNames.name(deviceNumber: 0) == "?")
        #expect(TerminalNames.name(deviceNumber: 136 << 8 | 3) == "pts/3")
        #expect(TerminalNames.name(deviceNumber: 137 << 8 | 44) == "pts/300")
        #expect(TerminalNames.name(deviceNumber: 4 << 8 | 1) == "tty1")
        #expect(TerminalNames.name(deviceNumber: 4 << 8 | 64) == "ttyS0")
        #expect(TerminalNames.name(deviceNumber: 5 << 8 | 1) == "5:1")
    }

    @Test func terminalOfALiveProcessAndOfAGoneOne() {
        let names = TerminalNames()
        #expect(names.name(of: getpid()) != nil)
        #expect(names.name(of: 4_000_000) == nil)  // above pid_max: no such process
    }
}
