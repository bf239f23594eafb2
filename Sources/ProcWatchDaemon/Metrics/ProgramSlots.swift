/// Which programs get a `procwatch_execs_total{program}` series of their own: at most
/// `capacity` over the daemon's life, every other exec counted under `other`.
///
/// Why not "the top N now": a Prometheus counter must only grow, and a series that vanished
/// when its program left the top N and came back when it re-entered would be read as a
/// counter reset (a `rate()` spike) and its execs in between would be nowhere; demoting a
/// program into `other` would make `other` jump. So a slot, once given, is kept for good,
/// and the only choice left is whom to give the `capacity` slots to.
///
/// Giving them to the first programs seen fills them at start-up with whatever happened to
/// run once then (boot helpers, the shell that started the daemon). Instead a program must
/// earn a slot: it is admitted, while slots are free, at the batch in which its exec count
/// reaches `admission`. Until then its execs are counted as candidates in a bounded table
/// (at most `4 × capacity` programs) and into `other`.
///
/// The error, stated: a program's series lacks the execs it had before the batch that
/// admitted it (fewer than `admission` of them when the candidate table never overflowed;
/// more if it was evicted meanwhile, see below); those are in `other`, so the sum over
/// every label is exactly the number of execs. A program first seen after the slots are
/// full is counted in `other` however often it runs. `admission` = 1 is "first N seen".
///
/// The candidate table never overestimates: when it is full, every count is halved and
/// the programs at 0 are dropped (amortized O(1) per exec), so a program with a slot has
/// really run at least `admission` times, and the programs that keep running (a build's
/// `cc1`, `sh`) reach the threshold while those that ran once fade out.
struct ProgramSlots: Sendable {
    /// Where one program's execs go.
    enum Slot: Equatable {
        /// Its own series, by index in admission order.
        case own(Int)
        /// The `other` series.
        case other
    }

    /// How many programs may have a series of their own (N).
    let capacity: Int
    /// How many execs a program needs before it is admitted into a free slot.
    let admission: Int
    /// The programs that have a slot, and its index.
    private(set) var admitted: [String: Int] = [:]
    /// Programs waiting for a slot and their exec counts (an underestimate, see above).
    private var candidates: [String: Int] = [:]

    /// The most candidates kept at once.
    var candidateLimit: Int { capacity * 4 }

    /// `capacity` ≥ 0 slots, admitted at `admission` ≥ 1 execs.
    init(capacity: Int, admission: Int) {
        precondition(capacity >= 0 && admission >= 1, "ProgramSlots: capacity \(capacity), admission \(admission)")
        self.capacity = capacity
        self.admission = admission
    }

    /// Counts `count` execs of `program` seen in one batch and says where they go. A program
    /// admitted now gets its slot for the whole of this batch's count.
    mutating func place(_ program: String, count: Int) -> Slot {
        if let index = admitted[program] { return .own(index) }
        guard admitted.count < capacity else { return .other }
        let seen = candidates.removeValue(forKey: program).map { $0 + count } ?? count
        if seen >= admission {
            let index = admitted.count
            admitted[program] = index
            if admitted.count == capacity { candidates = [:] }  // nobody else can get in
            return .own(index)
        }
        if candidates.count >= candidateLimit { decay() }
        candidates[program] = seen
        return .other
    }

    /// Halves every candidate's count, dropping those that reach 0, until there is room.
    private mutating func decay() {
        while candidates.count >= candidateLimit {
            candidates = candidates.compactMapValues { $0 / 2 > 0 ? $0 / 2 : nil }
        }
    }
}
