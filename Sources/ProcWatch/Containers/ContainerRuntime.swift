/// The software that made a container, as its cgroup's name shows it.
public enum ContainerRuntime: String, Sendable, Hashable, CaseIterable {
    /// Docker (`docker-<id>.scope` with the systemd driver, `/docker/<id>` with cgroupfs).
    case docker
    /// containerd's CRI plugin (`cri-containerd-<id>.scope`).
    case containerd
    /// CRI-O (`crio-<id>.scope`, `crio-<id>`).
    case crio = "cri-o"
    /// Podman (`libpod-<id>.scope`, `libpod-<id>`).
    case podman
    /// systemd-nspawn, or another machine registered with systemd-machined
    /// (`systemd-nspawn@<name>.service`, `machine-<name>.scope`): the id is the machine's name.
    case systemdNspawn = "systemd-nspawn"
}
