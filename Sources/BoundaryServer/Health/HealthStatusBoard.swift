import BoundaryAPI
import Foundation
import Synchronization

/// The single source of truth for what the health service reports.
///
/// Components (the model registry, the batcher, the lifecycle hook) flip statuses here; the gRPC
/// `Health` service only reads and watches it, so health logic stays testable without a server.
/// The service name `""` stands for the whole server, as the gRPC health-checking spec defines.
public final class HealthStatusBoard: Sendable {
    /// The wire enum, re-exported so callers don't need to spell the generated name.
    public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: Status]
        var watchers: [String: [UInt64: AsyncStream<Status>.Continuation]] = [:]
        var nextWatcherID: UInt64 = 0
        var isShutDown = false
    }

    private let state: Mutex<State>

    /// - Parameter initial: statuses known from the start. The overall server (`""`) defaults to
    ///   `NOT_SERVING` so load balancers only route to us once startup explicitly says so.
    public init(initial: [String: Status] = ["": .notServing]) {
        self.state = Mutex(State(statuses: initial))
    }

    /// Records `status` for `service` and notifies its watchers if the status actually changed
    /// (the spec asks for updates on change only).
    ///
    /// Ignored after ``shutdown()``: once draining has begun, a late component must not be able to
    /// advertise `SERVING` again and attract new traffic to a server that is going away.
    public func set(_ status: Status, for service: String) {
        let toNotify: [AsyncStream<Status>.Continuation] = state.withLock { state in
            guard !state.isShutDown, state.statuses[service] != status else { return [] }
            state.statuses[service] = status
            return Array((state.watchers[service] ?? [:]).values)
        }
        for continuation in toNotify { continuation.yield(status) }
    }

    /// The status of `service`, or `nil` when nobody has ever registered it.
    public func status(for service: String) -> Status? {
        state.withLock { $0.statuses[service] }
    }

    /// A snapshot of every known service and its status.
    public func allStatuses() -> [String: Status] {
        state.withLock { $0.statuses }
    }

    /// The names of every known service, sorted, for error messages that tell clients what exists.
    public var knownServices: [String] {
        state.withLock { $0.statuses.keys.sorted() }
    }

    /// A stream of `service`'s status: the current one immediately (`SERVICE_UNKNOWN` if the
    /// service isn't registered yet), then every change. It finishes when ``shutdown()`` is called
    /// or when the consumer stops iterating.
    ///
    /// The buffer is unbounded because statuses change a handful of times per process lifetime and
    /// clients rely on seeing each transition.
    public func watch(_ service: String) -> AsyncStream<Status> {
        let (stream, continuation) = AsyncStream<Status>.makeStream()
        let registered: UInt64? = state.withLock { state in
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            guard !state.isShutDown else { return nil }
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            state.watchers[service, default: [:]][id] = continuation
            return id
        }
        guard let id = registered else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.removeWatcher(id, of: service)
        }
        return stream
    }

    /// Marks every service `NOT_SERVING`, tells every watcher, then ends every watch stream.
    ///
    /// Called at the start of graceful shutdown so health-checking load balancers stop routing
    /// here while in-flight RPCs finish. Idempotent.
    public func shutdown() {
        let notifications: [(AsyncStream<Status>.Continuation, Status?)] = state.withLock { state in
            guard !state.isShutDown else { return [] }
            state.isShutDown = true
            var changed: Set<String> = []
            for (name, status) in state.statuses where status != .notServing {
                state.statuses[name] = .notServing
                changed.insert(name)
            }
            let all = state.watchers.flatMap { name, byID in
                byID.values.map { ($0, changed.contains(name) ? Status.notServing : nil) }
            }
            state.watchers = [:]
            return all
        }
        for (continuation, status) in notifications {
            if let status { continuation.yield(status) }
            continuation.finish()
        }
    }

    private func removeWatcher(_ id: UInt64, of service: String) {
        state.withLock { state in
            state.watchers[service]?[id] = nil
            if state.watchers[service]?.isEmpty == true { state.watchers[service] = nil }
        }
    }
}
