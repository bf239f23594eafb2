import Foundation
import Glibc

/// Which BPF programs exist, and which a process holds. bpftool here is built without its
/// pid iterator (it prints no `pids` line), so a process's programs are read from its file
/// descriptors: a program's and a link's fdinfo name its `prog_id`.
enum BPFPrograms {
    /// The ids of the programs process `pid` holds a descriptor of (a program or a link),
    /// or with `attachedOnly`, of a link (a program loaded but not attached has none).
    static func owned(by pid: Int32, attachedOnly: Bool = false) -> Set<Int> {
        let directory = "/proc/\(pid)/fdinfo"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var ids: Set<Int> = []
        for entry in entries {
            guard let text = try? String(contentsOfFile: "\(directory)/\(entry)", encoding: .utf8),
                  !attachedOnly || text.contains("link_id:") else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("prog_id:") {
                if let id = Int(line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)) { ids.insert(id) }
            }
        }
        return ids
    }

    /// The programs loaded now, id → name (`bpftool -j prog show`).
    static func loaded() throws -> [Int: String] {
        let output = try Spawn.capture(["/usr/sbin/bpftool", "-j", "prog", "show"]).stdout
        let list = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
        var programs: [Int: String] = [:]
        for program in list {
            if let id = program["id"] as? Int { programs[id] = program["name"] as? String ?? "" }
        }
        return programs
    }

    /// The names of the programs process `pid` has attached, sorted.
    static func names(attachedBy pid: Int32) throws -> [String] {
        let loaded = try loaded()
        return owned(by: pid, attachedOnly: true).compactMap { loaded[$0] }.sorted()
    }

    /// Waits (at most 2 s: the kernel frees programs asynchronously) until none of `ids` is
    /// loaded any more.
    static func allGone(_ ids: Set<Int>) -> Bool {
        eventually(timeout: .seconds(2)) { ((try? loaded()).map { Set($0.keys).isDisjoint(with: ids) }) ?? false }
    }
}
