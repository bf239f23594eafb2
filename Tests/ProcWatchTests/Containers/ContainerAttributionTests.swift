import Foundation
import Testing
@testable import ProcWatch

/// The container-id parser on each runtime's cgroup shapes, and on paths that name no container.
@Suite struct ContainerAttributionTests {
    static let id = "3f2a9c1e7b6d5a4f3e2d1c0b9a8f7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d"
    static let pod = "1a2b3c4d-5e6f-4a0b-9c8d-7e6f5a4b3c2d"
    static var podUnderscored: String { pod.replacingOccurrences(of: "-", with: "_") }

    @Test(arguments: [
        ("/system.slice/docker-\(id).scope", ContainerAttribution(id: id, runtime: .docker)),
        ("/docker/\(id)", ContainerAttribution(id: id, runtime: .docker)),
        ("/system.slice/cri-containerd-\(id).scope", ContainerAttribution(id: id, runtime: .containerd)),
        ("/machine.slice/libpod-\(id).scope", ContainerAttribution(id: id, runtime: .podman)),
        ("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(id).scope", ContainerAttribution(id: id, runtime: .podman)),
        ("/system.slice/crio-\(id).scope", ContainerAttribution(id: id, runtime: .crio)),
        ("/machine.slice/systemd-nspawn@web.service", ContainerAttribution(id: "web", runtime: .systemdNspawn)),
        ("/machine.slice/systemd-nspawn@web.service/payload/system.slice/cron.service", ContainerAttribution(id: "web", runtime: .systemdNspawn)),
        ("/machine.slice/machine-web\\x2d2.scope", ContainerAttribution(id: "web-2", runtime: .systemdNspawn)),
        ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(podUnderscored).slice/cri-containerd-\(id).scope",
         ContainerAttribution(id: id, runtime: .containerd, podUID: pod, podQoS: .burstable)),
        ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(podUnderscored).slice/crio-\(id).scope",
         ContainerAttribution(id: id, runtime: .crio, podUID: pod, podQoS: .besteffort)),
        ("/kubepods.slice/kubepods-pod\(podUnderscored).slice/docker-\(id).scope",
         ContainerAttribution(id: id, runtime: .docker, podUID: pod, podQoS: .guaranteed)),
        ("/kubepods/besteffort/pod\(pod)/\(id)", ContainerAttribution(id: id, runtime: nil, podUID: pod, podQoS: .besteffort)),
        ("/kubepods/burstable/pod\(pod)/\(id)", ContainerAttribution(id: id, runtime: nil, podUID: pod, podQoS: .burstable)),
        ("/kubepods/pod\(pod)/\(id)", ContainerAttribution(id: id, runtime: nil, podUID: pod, podQoS: .guaranteed)),
        // Docker inside an nspawn machine: the deepest container is the process's.
        ("/machine.slice/systemd-nspawn@web.service/payload/system.slice/docker-\(id).scope", ContainerAttribution(id: id, runtime: .docker)),
    ])
    func namesTheContainer(path: String, expected: ContainerAttribution) {
        #expect(ContainerAttribution(cgroupPath: path) == expected)
    }

    @Test(arguments: [
        "/", "/user.slice/user-0.slice/session-3.scope", "/system.slice/containerd.service", "/system.slice/docker.service",
        "/process_api/52a06140d91f7cf16ba40d401dbf86fd",
        // Podman's monitor is not the container.
        "/machine.slice/libpod-conmon-\(id).scope",
        // One hex digit short, an upper-case digit.
        "/system.slice/docker-\(id.dropLast()).scope", "/docker/\(id.uppercased())",
        // Bare ids outside /docker and a pod; a pod's own slice; machine-*.scope outside machine.slice.
        "/system.slice/\(id)", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(podUnderscored).slice",
        "/user.slice/machine-web.scope",
    ])
    func namesNone(path: String) {
        #expect(ContainerAttribution(cgroupPath: path) == nil)
    }
}
