/// The container a cgroup path names, when it names one: its id, the runtime that made it
/// and, for a Kubernetes pod's container, the pod's UID and QoS class.
///
/// A pure reading of the path (``init(cgroupPath:)``): no runtime is asked, so a container
/// is recognised exactly when its cgroup has one of the shapes its runtime gives it.
public struct ContainerAttribution: Sendable, Hashable {
    /// The container id (64 hex digits), or for systemd-nspawn the machine's name.
    public var id: String
    /// The runtime, when the path shows it (a cgroupfs-driver Kubernetes container,
    /// `/kubepods/besteffort/pod<uid>/<id>`, does not).
    public var runtime: ContainerRuntime?
    /// The Kubernetes pod's UID with its dashes (the systemd driver writes them as `_`).
    public var podUID: String?
    /// The Kubernetes pod's QoS class.
    public var podQoS: PodQoS?

    /// Creates an attribution.
    public init(id: String, runtime: ContainerRuntime?, podUID: String? = nil, podQoS: PodQoS? = nil) {
        self.id = id
        self.runtime = runtime
        self.podUID = podUID
        self.podQoS = podQoS
    }

    /// The container `cgroupPath` names, or nil when it names none (a login session, a
    /// runtime's own service such as `/system.slice/containerd.service`, the root).
    ///
    /// The deepest component that names a container wins (a container inside a
    /// systemd-nspawn machine is that container); the pod is read from the components
    /// above it.
    public init?(cgroupPath: String) {
        let components = cgroupPath.split(separator: "/").map(String.init)
        var found: (id: String, runtime: ContainerRuntime?)?
        var podUID: String?
        var podQoS: PodQoS?
        var insideKubepods = false
        var insideMachines = false
        for (index, component) in components.enumerated() {
            let parent = index > 0 ? components[index - 1] : ""
            if component == "kubepods" || component == "kubepods.slice" {
                insideKubepods = true
                continue
            }
            if component == "machine.slice" { insideMachines = true }
            if insideKubepods, let pod = Self.pod(component, parent: parent) {
                podUID = pod.uid
                podQoS = pod.qos
                continue
            }
            if let container = Self.container(component, parent: parent, insidePod: podUID != nil,
                                               insideMachines: insideMachines) {
                found = container
            }
        }
        guard let found else { return nil }
        self.init(id: found.id, runtime: found.runtime, podUID: found.runtime == .systemdNspawn ? nil : podUID,
                  podQoS: found.runtime == .systemdNspawn ? nil : podQoS)
    }

    /// Prefixes of a container's cgroup name (systemd driver `<prefix><id>.scope`; cgroupfs
    /// `<prefix><id>`), most specific first.
    private static let prefixes: [(String, ContainerRuntime)] = [
        ("cri-containerd-", .containerd), ("crio-", .crio), ("docker-", .docker), ("libpod-", .podman),
    ]

    private static func container(_ component: String, parent: String, insidePod: Bool, insideMachines: Bool)
        -> (id: String, runtime: ContainerRuntime?)? {
        let name = component.hasSuffix(".scope") ? String(component.dropLast(6)) : component
        for (prefix, runtime) in prefixes where name.hasPrefix(prefix) {
            let id = String(name.dropFirst(prefix.count))
            if isContainerID(id) { return (id, runtime) }
        }
        if isContainerID(component) {
            if parent == "docker" { return (component, .docker) }
            if insidePod { return (component, nil) }
        }
        if component.hasPrefix("systemd-nspawn@"), component.hasSuffix(".service") {
            let machine = component.dropFirst("systemd-nspawn@".count).dropLast(".service".count)
            if !machine.isEmpty { return (unescape(String(machine)), .systemdNspawn) }
        }
        if insideMachines, component.hasPrefix("machine-"), component.hasSuffix(".scope") {
            let machine = component.dropFirst("machine-".count).dropLast(".scope".count)
            if !machine.isEmpty { return (unescape(String(machine)), .systemdNspawn) }
        }
        return nil
    }

    /// A pod's cgroup: `kubepods[-<qos>]-pod<uid_with_underscores>.slice` (systemd driver)
    /// or `pod<uid>` under `kubepods`, `burstable` or `besteffort` (cgroupfs driver).
    private static func pod(_ component: String, parent: String) -> (uid: String, qos: PodQoS)? {
        if component.hasPrefix("kubepods-"), component.hasSuffix(".slice") {
            let name = component.dropFirst("kubepods-".count).dropLast(".slice".count)
            guard let marker = name.firstRange(of: "pod") else { return nil }
            let qosName = name[..<marker.lowerBound]
            let uid = name[marker.upperBound...].replacingUnderscores()
            let qos: PodQoS
            switch qosName {
            case "": qos = .guaranteed
            case "burstable-": qos = .burstable
            case "besteffort-": qos = .besteffort
            default: return nil
            }
            return isPodUID(uid) ? (uid, qos) : nil
        }
        if component.hasPrefix("pod") {
            let uid = String(component.dropFirst(3))
            guard isPodUID(uid) else { return nil }
            switch parent {
            case "kubepods": return (uid, .guaranteed)
            case "burstable": return (uid, .burstable)
            case "besteffort": return (uid, .besteffort)
            default: return nil
            }
        }
        return nil
    }

    /// 64 lowercase hex digits: the ids Docker, containerd, CRI-O and Podman give.
    private static func isContainerID(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A UID as Kubernetes writes it: 36 characters, hex digits and dashes.
    private static func isPodUID(_ text: String) -> Bool {
        text.utf8.count == 36 && text.utf8.allSatisfy { $0 == 0x2D || (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A systemd unit name's escapes undone (`\x2d` is `-` in a machine's name).
    private static func unescape(_ name: String) -> String {
        guard name.contains("\\x") else { return name }
        var bytes: [UInt8] = []
        let utf8 = Array(name.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count, utf8[index + 1] == UInt8(ascii: "x"),
               let value = UInt8(String(decoding: utf8[(index + 2)...(index + 3)], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private extension Substring {
    /// The systemd driver writes a pod UID's dashes as underscores (a dash separates slices).
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
