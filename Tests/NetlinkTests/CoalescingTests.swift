import Testing
@testable import Netlink

@Suite("Adaptive coalescing")
struct CoalescingTests {
    @Test func rateThreshold() {
        // 10,000 per second: 100 in 10 ms is exactly the rate, 99 is below.
        #expect(NetlinkSocket.exceeds(rate: 10_000, count: 100, in: 10_000_000))
        #expect(!NetlinkSocket.exceeds(rate: 10_000, count: 99, in: 10_000_000))
        #expect(NetlinkSocket.exceeds(rate: 10_000, count: 400, in: 10_000_000))
    }

    @Test func noOverflowAfterDaysOfIdleOrUptime() {
        // The first window starts at boot; an idle one can last for days. 30 days:
        let month: Int64 = 30 * 86_400 * 1_000_000_000
        #expect(!NetlinkSocket.exceeds(rate: 10_000, count: 1, in: month))
        #expect(!NetlinkSocket.exceeds(rate: 10_000, count: 0, in: .max))
        #expect(NetlinkSocket.exceeds(rate: 10_000, count: .max, in: month))
    }
}
