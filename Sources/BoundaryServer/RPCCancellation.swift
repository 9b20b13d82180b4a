import GRPCCore
import Synchronization

/// Whether the server is draining for a graceful shutdown. Set by the lifecycle hook before the
/// transport starts quiescing.
///
/// grpc-swift signals three different things through the same RPC-cancellation handle: the client
/// went away, the deadline passed, and the server is shutting down. The first two should stop the
/// work (a cancelled request leaves its batch); the third must not — in-flight requests finish.
public final class DrainState: Sendable {
    private struct State {
        var draining = false
        /// Run once when draining begins: long-lived streams (the HTTP API's event streams) end
        /// there instead of holding the shutdown open.
        var observers: [UInt64: @Sendable () -> Void] = [:]
        var nextKey: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var isDraining: Bool { state.withLock { $0.draining } }

    public func begin() {
        let observers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.draining else { return [] }
            state.draining = true
            defer { state.observers = [:] }
            return Array(state.observers.values)
        }
        for observer in observers { observer() }
    }

    /// Calls `action` when draining begins (at once if it has); the returned key cancels it.
    @discardableResult
    public func onBegin(_ action: @escaping @Sendable () -> Void) -> UInt64? {
        let key = state.withLock { state -> UInt64? in
            guard !state.draining else { return nil }
            state.nextKey += 1
            state.observers[state.nextKey] = action
            return state.nextKey
        }
        if key == nil { action() }
        return key
    }

    public func cancelObserver(_ key: UInt64?) {
        guard let key else { return }
        _ = state.withLock { $0.observers.removeValue(forKey: key) }
    }
}

/// Runs `body`, abandoning it with CANCELLED when gRPC cancels the RPC — unless the server is
/// draining, in which case the work completes and its reply is sent.
///
/// grpc-swift never cancels the handler's task itself, so without this a request whose client
/// has gone, or whose deadline has passed, would still take its place in a batch.
func cancellingWithRPC<T: Sendable>(_ context: ServerContext, drain: DrainState,
                                    _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await context.cancellation.cancelled
            if drain.isDraining {
                // Keep waiting for `body`; this task ends when the group is cancelled below.
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
            throw CallOutcome.cancellation(deadline: CallOutcome.deadline)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A counting semaphore for async code: bounds how far a stream reader runs ahead of its replies.
final class AsyncPermits: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(_ count: Int) {
        state = Mutex(State(available: count))
    }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.available > 0 { state.available -= 1; return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty { state.available += 1; return nil }
            return state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}
