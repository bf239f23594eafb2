import Glibc
import ProcWatch
@testable import ProcWatchDaemon
import Testing

@Suite("Client visibility")
struct ClientVisibilityTests {
    let other = ClientVisibility(credentials: PeerCredentials(pid: 5, uid: 1001, gid: 1001, groups: [24]), group: 4242)

    @Test func rootAndGroupMembersSeeAll() {
        #expect(ClientVisibility(credentials: PeerCredentials(pid: 5, uid: 0, gid: 0), group: nil) == .all)
        #expect(ClientVisibility(credentials: PeerCredentials(pid: 5, uid: 1000, gid: 1000, groups: [24, 4242]), group: 4242) == .all)
        #expect(ClientVisibility(credentials: PeerCredentials(pid: 5, uid: 1000, gid: 4242), group: 4242) == .all)
        #expect(ClientVisibility(credentials: PeerCredentials(pid: 5, uid: 1000, gid: 1000, groups: [4242]), group: nil) == .own(uid: 1000))
        #expect(other == .own(uid: 1001))
        #expect(other.name == "own")
        #expect(ClientVisibility.all.name == "all")
    }

    @Test func ownProcessesOnly() {
        #expect(other.admits(HubEvents.exec(40001, "make", uid: 1001)))
        #expect(!other.admits(HubEvents.exec(40001, "make", uid: 1000)))
        #expect(other.admits(HubEvents.fork(40001, 40002, "make", uid: 1001)))
        #expect(other.admits(HubEvents.exit(40001, "make", uid: 1001)))
        // The new real uid decides a uid event: the process now belongs to 1001.
        #expect(other.admits(HubEvents.setuid(40003, "su", from: 0, to: 1001)))
        #expect(!other.admits(HubEvents.setuid(40004, "sudo", from: 1001, to: 0)))
        // Unknown uid: hidden. Unknown kernel kinds name no process: hidden. Losses: shown.
        #expect(!other.admits(HubEvents.exec(40005, "x", uid: nil)))
        #expect(!other.admits(EnrichedEvent(event: ProcessEvent(detail: .unknown(what: 7, data: []), timestamp: HubEvents.time))))
        #expect(other.admits(HubEvents.lost(3)))
        #expect(ClientVisibility.all.admits(HubEvents.exec(40005, "x", uid: nil)))
    }

    @Test func groupsFromProc() throws {
        let own = PeerCredentials.reading(pid: getpid(), uid: getuid(), gid: getgid())
        var expected = [gid_t](repeating: 0, count: Int(getgroups(0, nil)))
        _ = getgroups(Int32(expected.count), &expected)
        #expect(own.groups.sorted() == expected.sorted())
        // A pid whose real uid is not the peer's (reused since): no groups, fail closed.
        #expect(PeerCredentials.reading(pid: getpid(), uid: getuid() &+ 1, gid: 7).groups == [])
        #expect(PeerCredentials.reading(pid: 99_999, uid: 0, gid: 0) == PeerCredentials(pid: 99_999, uid: 0, gid: 0))
    }
}
