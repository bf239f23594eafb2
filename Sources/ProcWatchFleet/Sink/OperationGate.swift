import NIOCore
import PostgresNIO
import Synchronization

/// Bounds the sink's network operations: each ends with its own result, or with an
/// ``Interruption`` as soon as its connection closes, its deadline passes or the sink stops,
/// whichever comes first. One operation at a time (the sink's run loop is sequential).
///
/// Why not a task group racing a timer: postgres-nio 1.33.2 can leave an operation suspended
/// for good — `PostgresConnection.query` writes its task with `promise: nil`, and once the
/// server has closed the connection and NIO has removed the channel's handlers, that write
/// fails unseen and the query's promise is never completed (a server stopped between two
/// statements of a batch's transaction hung the sink this way). Neither cancellation nor
/// closing resumes it, and a task group waits for every child, the stuck one too. Here the
/// operation runs in a task of its own that is abandoned (cancelled) when it loses the race;
/// a stuck one stays suspended, holding its batch, until the process ends.
final class OperationGate: Sendable {
    /// Why an operation ended before its result.
    enum Interruption: Error, CustomStringConvertible {
        case closed, expired(seconds: Double), stopped, cancelled

        var description: String {
            switch self {
            case .closed: "the connection was closed"
            case .expired(let seconds): "no answer within \(Int(seconds)) s"
            case .stopped: "the sink stopped"
            case .cancelled: "the sink was cancelled"
            }
        }
    }

    private struct State {
        var stopped = false
        /// The operation in flight: its number, its connection's id, what abandons it.
        var current: (number: Int, connection: PostgresConnection.ID?, abandon: @Sendable (Interruption) -> Void)?
        var operations = 0
    }

    private let state = Mutex(State())

    /// Whether ``stop()`` was called.
    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Interrupts the operation in flight and refuses every later one.
    func stop() {
        let abandon = state.withLock { state in
            state.stopped = true
            return state.current?.abandon
        }
        abandon?(.stopped)
    }

    /// Interrupts the operation in flight on `connection` as soon as it closes (called once
    /// for each connection the sink opens).
    func watch(_ connection: PostgresConnection) {
        let id = connection.id
        connection.closeFuture.whenComplete { [weak self] _ in
            let abandon = self?.state.withLock { state in state.current?.connection == id ? state.current?.abandon : nil }
            abandon?(.closed)
        }
    }

    /// Runs `operation` (on `connection`, when it uses one) for at most `seconds`, or until
    /// the calling task is cancelled.
    /// `orphan` receives the result of an operation that completes after it lost the race
    /// (to close a connection it opened).
    func run<T: Sendable>(on connection: PostgresConnection?, within seconds: Double,
                          orphan: @escaping @Sendable (T) -> Void = { _ in },
                          _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = Race<T>(orphan: orphan)
        let number = state.withLock { state in
            state.operations += 1
            return state.operations
        }
        defer {
            state.withLock { state in if state.current?.number == number { state.current = nil } }
        }
        // Cancelling the caller (a run() cancelled) ends the wait too: unstructured tasks would not hear it.
        return try await withTaskCancellationHandler {
            try await self.race(race, number, connection, seconds, operation)
        } onCancel: {
            race.finish(.failure(Interruption.cancelled))
        }
    }

    private func race<T: Sendable>(_ race: Race<T>, _ number: Int, _ connection: PostgresConnection?, _ seconds: Double,
                                   _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            race.begin(continuation)
            let admitted = state.withLock { state in
                guard !state.stopped else { return false }
                state.current = (number, connection?.id, { race.finish(.failure($0)) })
                return true
            }
            // A connection closed before the operation began would never tell (its close is past).
            if !admitted {
                race.finish(.failure(Interruption.stopped))
            } else if let connection, connection.isClosed {
                race.finish(.failure(Interruption.closed))
            }
            race.add(Task {
                do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
            })
            race.add(Task {
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                race.finish(.failure(Interruption.expired(seconds: seconds)))
            })
        }
    }
}

/// The first of an operation's outcomes, given to its continuation once; the tasks of the
/// others are cancelled.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        /// The outcome that came before ``begin(_:)`` (a caller cancelled already).
        var early: Result<T, any Error>?
        var finished = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let orphan: @Sendable (T) -> Void

    init(orphan: @escaping @Sendable (T) -> Void) { self.orphan = orphan }

    func begin(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state in
            if state.early == nil { state.continuation = continuation }
            return state.early
        }
        if let early { continuation.resume(with: early) }
    }

    /// Keeps `task` to cancel when the race ends (at once if it has).
    func add(_ task: Task<Void, Never>) {
        let late = state.withLock { state in
            if state.finished { return true }
            state.tasks.append(task)
            return false
        }
        if late { task.cancel() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (first, continuation, tasks) = state.withLock { state in
            defer {
                state.finished = true
                state.continuation = nil
                state.tasks = []
            }
            if !state.finished, state.continuation == nil { state.early = result }
            return (!state.finished, state.continuation, state.tasks)
        }
        guard first else {
            if case .success(let late) = result { orphan(late) }
            return
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: result)
    }
}

extension OperationGate {
    /// Closes `connection`, waiting for it at most `seconds`: a connection whose query is
    /// stuck may never confirm its close.
    static func close(_ connection: PostgresConnection, within seconds: Double) async {
        _ = try? await OperationGate().run(on: nil, within: seconds) { try await connection.close().get() }
    }
}
