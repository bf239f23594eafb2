/// Which cgroup path stands for a process: read from its `/proc/PID/cgroup`.
///
/// On a hybrid host (v1 controllers and a v2 hierarchy side by side, as systemd's "hybrid"
/// mode mounts them) a process has one path per hierarchy. The attributed one is, in order:
/// 1. the v2 path (`0::PATH`) when it is not `/` — a unified or v2-only host, and whatever
///    a runtime put under the v2 mount;
/// 2. else the `name=systemd` path when not `/` — where systemd (and the runtimes that ask
///    it for a scope) puts services, sessions and containers on a hybrid host;
/// 3. else the first v1 path that is not `/`, in the file's order;
/// 4. else `/`.
public enum CgroupMembership {
    /// The attributed path of a `/proc/PID/cgroup` text (`ID:CONTROLLERS:PATH` lines), or nil
    /// when it has no line at all.
    public static func attributedPath(procCgroup text: some StringProtocol) -> String? {
        var unified: Substring?
        var systemd: Substring?
        var firstOther: Substring?
        var anyLine = false
        for line in text.split(separator: "\n") {
            // PATH may itself hold ':' — split at the first two only.
            guard let first = line.firstIndex(of: ":") else { continue }
            let rest = line[line.index(after: first)...]
            guard let second = rest.firstIndex(of: ":") else { continue }
            let controllers = rest[..<second]
            let path = Substring(rest[rest.index(after: second)...])
            anyLine = true
            guard path != "/" else { continue }
            if line[..<first] == "0", controllers.isEmpty {
                unified = path
            } else if controllers == "name=systemd" {
                systemd = path
            } else if firstOther == nil {
                firstOther = path
            }
        }
        guard anyLine else { return nil }
        return String(unified ?? systemd ?? firstOther ?? "/")
    }
}
