import ProcWatch

extension ExitStatus {
    /// The contract's `status` object as text: `{"exited":3}`, `{"signaled":9,"core":false}`.
    var json: String {
        switch self {
        case .exited(let code): "{\"exited\":\(code)}"
        case .signaled(let signal, let core): "{\"signaled\":\(signal),\"core\":\(core)}"
        }
    }
}
