/// A Kubernetes pod's quality-of-service class, as the kubelet names the cgroup it puts the
/// pod in: `kubepods-burstable.slice` / `burstable`, `kubepods-besteffort.slice` /
/// `besteffort`, and guaranteed pods straight under `kubepods`.
public enum PodQoS: String, Sendable, Hashable, CaseIterable {
    /// Requests equal limits for every container: the pod's cgroup is right under `kubepods`.
    case guaranteed
    /// Some requests or limits set.
    case burstable
    /// No requests or limits.
    case besteffort
}
