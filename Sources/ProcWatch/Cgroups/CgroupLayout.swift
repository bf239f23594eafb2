#if canImport(Glibc)
import Glibc
#endif

/// Where this process's cgroups are, per controller: in which hierarchy (a v1 one that has
/// the controller mounted, or the v2 one) and in which directory of it.
///
/// Hosts differ: pure v2 (`/sys/fs/cgroup` is cgroup2), pure v1, or hybrid — v1 controller
/// hierarchies next to a v2 one that holds only the controllers no v1 hierarchy took (often
/// none: on this project's machine the v2 root lists only `hugetlb`). A controller is v2's
/// only where v1 has not mounted it and the v2 root lists it in `cgroup.controllers`; CPU
/// time is in every v2 cgroup's `cpu.stat` without a controller.
public struct CgroupLayout: Sendable, Equatable {
    /// cgroup v1 or v2.
    public enum Version: Sendable, Equatable { case v1, v2 }

    /// One controller's hierarchy and this process's cgroup in it.
    public struct Place: Sendable, Equatable, Hashable {
        /// Which cgroup version the hierarchy is.
        public var version: Version
        /// The directory of this process's cgroup (`/sys/fs/cgroup/pids/user.slice`).
        public var directory: String
    }

    /// Each controller the host offers, where it is.
    public var places: [CgroupController: Place]

    /// The places of this process (`/proc/self/mountinfo`, `/proc/self/cgroup` and the v2
    /// root's `cgroup.controllers`).
    public static func current() -> CgroupLayout {
        let mountInfo = CgroupFiles.text("/proc/self/mountinfo") ?? ""
        let membership = CgroupFiles.text("/proc/self/cgroup") ?? ""
        let v2Root = mounts(in: mountInfo).first { $0.isV2 }?.mountPoint
        return CgroupLayout(mountInfo: mountInfo, membership: membership,
                            v2Controllers: v2Root.flatMap { CgroupFiles.text($0 + "/cgroup.controllers") } ?? "")
    }

    /// The layout that the text of `/proc/self/mountinfo`, `/proc/self/cgroup` and the v2
    /// root's `cgroup.controllers` describe.
    public init(mountInfo: String, membership: String, v2Controllers: String) {
        let mounts = Self.mounts(in: mountInfo)
        // `/proc/self/cgroup`: `ID:CONTROLLERS:PATH`, `0::PATH` for v2.
        var v1Paths: [String: String] = [:]
        var v2Path: String?
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                v2Path = String(fields[2])
            } else {
                for controller in fields[1].split(separator: ",") { v1Paths[String(controller)] = String(fields[2]) }
            }
        }
        let offeredByV2 = Set(v2Controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        var places: [CgroupController: Place] = [:]
        for controller in CgroupController.allCases {
            if let mount = mounts.first(where: { !$0.isV2 && $0.controllers.contains(controller.v1Name) }),
               let path = v1Paths[controller.v1Name] {
                places[controller] = Place(version: .v1, directory: mount.directory(of: path))
            } else if let mount = mounts.first(where: \.isV2), let path = v2Path,
                      controller.v2Name.map(offeredByV2.contains) ?? true {
                places[controller] = Place(version: .v2, directory: mount.directory(of: path))
            }
        }
        self.places = places
    }

    /// A cgroup file system mount: v2, or v1 with its controllers (from the super options).
    struct Mount {
        var isV2: Bool
        var root: String
        var mountPoint: String
        var controllers: Set<String>

        /// The directory of a cgroup path (as /proc/self/cgroup names it) under this mount.
        func directory(of path: String) -> String {
            var relative = Substring(path)
            if root != "/", relative.hasPrefix(root) { relative = relative.dropFirst(root.count) }
            let trimmed = relative.drop { $0 == "/" }
            return trimmed.isEmpty ? mountPoint : mountPoint + "/" + trimmed
        }
    }

    /// The cgroup mounts of a mountinfo text: `ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS] - TYPE SOURCE SUPER`.
    static func mounts(in mountInfo: String) -> [Mount] {
        mountInfo.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), fields.count > dash + 3, dash >= 5 else { return nil }
            let type = fields[dash + 1]
            guard type == "cgroup" || type == "cgroup2" else { return nil }
            return Mount(isV2: type == "cgroup2", root: unescaped(fields[3]), mountPoint: unescaped(fields[4]),
                         controllers: Set(fields[dash + 3].split(separator: ",").map(String.init)))
        }
    }

    /// mountinfo writes space, tab, newline and backslash in paths as octal escapes (`\040`).
    static func unescaped(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
