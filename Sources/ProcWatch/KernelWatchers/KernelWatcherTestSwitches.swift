#if canImport(Glibc)
import Glibc
#endif

/// Test-only environment variables that make the kernel-side watchers fail on purpose, so
/// that tests running the real binaries can reach the refusal and fallback paths on a
/// machine where BPF works. They are the defaults of ``ProcessEventSource/KernelWatcherOptions``'
/// test options (the library's own tests set those options directly). No user needs them:
/// they only ever take something away.
enum KernelWatcherTestSwitches {
    /// `PROCWATCH_TEST_BPF_REFUSAL=REASON`: opening the watchers fails with REASON, as when
    /// BPF is refused.
    static var refusal: String? {
        getenv("PROCWATCH_TEST_BPF_REFUSAL").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `PROCWATCH_TEST_BPF_REFUSED_KINDS=comm,…` (the event contract's names): the programs
    /// reporting these kinds are not attached, as when they fail to attach on a kernel.
    static var refusedKinds: ProcessEventKinds {
        guard let list = getenv("PROCWATCH_TEST_BPF_REFUSED_KINDS").map({ String(cString: $0) }) else { return [] }
        var kinds = ProcessEventKinds()
        for name in list.split(separator: ",") {
            if let kind = EventKind.allCases.first(where: { $0.name == name }) { kinds.formUnion(kind.bit) }
        }
        return kinds
    }
}
