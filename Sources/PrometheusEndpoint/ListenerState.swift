import NIOCore
import Synchronization

/// Why ``PrometheusMetricsServer/listeningPort()`` can't return a port.
public struct MetricsListenerError: Error, CustomStringConvertible {
    public let description: String
}

/// The bound port, published once `run()` has bound the socket, so callers that asked for port 0
/// (tests, `--metrics-port 0`) can learn the real one without polling.
final class ListenerState: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Int, any Error>])
        case listening(Int)
        case failed(String)
    }

    private let state = Mutex(State.waiting([]))

    func port() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let outcome: Result<Int, MetricsListenerError>? = state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .listening(let port):
                    return .success(port)
                case .failed(let reason):
                    return .failure(MetricsListenerError(description: reason))
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    func listening(on port: Int) {
        resolve(.listening(port)) { $0.resume(returning: port) }
    }

    func failed(_ reason: String) {
        resolve(.failed(reason)) { $0.resume(throwing: MetricsListenerError(description: reason)) }
    }

    private func resolve(_ final: State, resume: (CheckedContinuation<Int, any Error>) -> Void) {
        let waiters: [CheckedContinuation<Int, any Error>] = state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = final
            return waiters
        }
        waiters.forEach(resume)
    }
}

/// The accepted connections, so shutdown can close idle keep-alive connections instead of
/// leaving them open after the listener is gone.
final class ConnectionSet: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.channels.withLock { _ = $0.removeValue(forKey: id) }
        }
    }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.close(promise: nil)
        }
    }
}
