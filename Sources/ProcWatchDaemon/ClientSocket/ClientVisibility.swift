import ProcWatch

/// What one client may see, decided once from its credentials.
///
/// Root (uid 0) and members of the configured group (primary or supplementary) see every
/// event. Anyone else sees an event only when its subject process's real uid, at the
/// event, is the client's:
///
/// - the real uid is the enriched event's `process?.uid` (the table's record after the
///   event was applied: for `fork` the child's, for `exit` the uid it died with);
/// - a `uid` event counts with the new real uid it reports: a process that changed its real
///   uid is seen, from that event on, by the user it now belongs to, and no longer by the
///   one it left (who does not see the change itself);
/// - only the real uid counts: a set-uid program run by a user (effective uid changed by
///   exec, real uid not) stays visible to that user; a daemon running as a user with a
///   root real uid stays hidden from them;
/// - a process whose uid is unknown (not in the table, e.g. it started before the daemon
///   and was gone from /proc) is not shown to such clients, nor are `unknown` kernel
///   events, which name no process;
/// - `lost` events reach everyone: they name no process and tell the client its stream
///   has a gap.
public enum ClientVisibility: Sendable, Equatable {
    /// Every event.
    case all
    /// Only events of processes whose real uid is this one.
    case own(uid: UInt32)

    /// The visibility of a client with these credentials, `group` the configured group.
    public init(credentials: PeerCredentials, group: UInt32?) {
        if credentials.uid == 0 || group.map(credentials.isMember(of:)) == true {
            self = .all
        } else {
            self = .own(uid: credentials.uid)
        }
    }

    /// The hello's `visibility` value: `all` or `own`.
    public var name: String {
        switch self {
        case .all: "all"
        case .own: "own"
        }
    }

    /// Whether a client with this visibility may see the event.
    public func admits(_ enriched: EnrichedEvent) -> Bool {
        guard case .own(let uid) = self else { return true }
        switch enriched.event.detail {
        case .lost: return true
        case .uid(_, let real, _): return real == uid
        default: return enriched.process?.uid == uid
        }
    }
}
