extension NamespaceView {
    /// Why the /proc scanner is used, and what it cannot show: the reason of the source line.
    func procScanReason(kernelRefusal: String, interval: ProcessEventSource.ProcScanOptions) -> String {
        let place = summary.map { "\($0): " } ?? ""
        let proc = summary == nil ? "/proc" : "this namespace's /proc"
        return "\(place)\(kernelRefusal); scanning \(proc) every \(interval.intervalMilliseconds) ms: "
            + "processes that live shorter are counted as lost, not shown; exit statuses only of zombies seen"
    }

    /// What a kernel backend shows from here, appended to its reason: nothing in the
    /// initial namespaces.
    var kernelNote: String? {
        guard let summary, userMap == nil else { return nil }
        var notes: [String] = []
        if isOtherNetworkNamespace { notes.append("the connector is refused there, BPF sees every process of the machine") }
        if isNestedPIDNamespace { notes.append("pids are the initial pid namespace's, which this /proc does not show") }
        return "\(summary): " + notes.joined(separator: "; ")
    }
}
