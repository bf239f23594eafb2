/// The one line a watching command prints on standard error once its source started.
enum SourceLine {
    /// Under `--source auto` (the default) where the BPF programs load, as on the test machines.
    static let bpf = "procwatch: source: bpf (the BPF programs loaded and attached)\n"
    /// Under `--source connector`.
    static let connector = "procwatch: source: connector (asked for)\n"
}
