import FeedbackStore
import Foundation
import Serving
import Synchronization

/// Group commit: submissions that arrive while a write is in progress wait and are then written
/// together, in one transaction and one fsync. Each caller is answered only after the transaction
/// holding its event committed, so "acknowledged" still means "on disk"; under load many events
/// share the cost of one fsync instead of queueing for one each.
final class GroupCommit: Sendable {
    private typealias Waiter = (event: FeedbackEvent, continuation: CheckedContinuation<FeedbackReceipt, any Error>)
    private let store: any FeedbackStore
    private let policy: RecordPolicy
    /// One thread: the writes block on fsync and stay off the cooperative pool.
    private let writer = WorkerPool(name: "boundary-feedback-commit", workers: 1)
    private let state = Mutex<(waiting: [Waiter], writing: Bool)>(([], false))
    /// Events per transaction at most, so one commit's latency stays bounded.
    static let maxBatch = 256

    init(store: any FeedbackStore, policy: RecordPolicy) {
        self.store = store
        self.policy = policy
    }

    func record(_ event: FeedbackEvent) async throws -> FeedbackReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state -> Bool in
                state.waiting.append((event, continuation))
                guard !state.writing else { return false }
                state.writing = true
                return true
            }
            if lead, !writer.submit({ self.drain() }) {
                for waiter in takeAll() { waiter.continuation.resume(throwing: ServingError.shuttingDown) }
            }
        }
    }

    func shutdown() { writer.shutdown() }

    /// Writes batches until nobody is waiting.
    private func drain() {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                let batch = Array(state.waiting.prefix(Self.maxBatch))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.writing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let results = try store.record(batch.map { $0.event }, policy: policy)
                guard results.count == batch.count else { throw FeedbackStoreError.internalInconsistency }
                for (waiter, result) in zip(batch, results) {
                    waiter.continuation.resume(with: result.mapError { RetrainingError($0) as any Error })
                }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }

    private func takeAll() -> [Waiter] {
        state.withLock { state in
            defer { state.waiting = []; state.writing = false }
            return state.waiting
        }
    }
}
