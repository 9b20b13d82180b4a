import Foundation
import Synchronization

/// Every prediction with its embedding, handed from Predict to whoever indexes them (search)
/// without making Predict wait: `publish` appends to a bounded buffer under a lock and returns;
/// a consumer takes everything at once with `take`. When the consumer falls behind by `capacity`
/// predictions the oldest are dropped and counted — an index may miss an image, a Predict never
/// slows down.
public final class PredictionFeed: Sendable {
    public let capacity: Int
    private let state = Mutex(State())

    private struct State {
        var pending: [RecentImages.Candidate] = []
        var dropped = 0
    }

    public init(capacity: Int = 16_384) {
        precondition(capacity > 0, "a feed needs room for at least one prediction")
        self.capacity = capacity
    }

    /// Predictions dropped because the consumer fell behind, since the start.
    public var dropped: Int { state.withLock { $0.dropped } }

    public func publish(_ candidate: RecentImages.Candidate) {
        state.withLock { state in
            if state.pending.count >= capacity {
                state.pending.removeFirst()
                state.dropped += 1
            }
            state.pending.append(candidate)
        }
    }

    /// Everything published since the last call, oldest first.
    public func take() -> [RecentImages.Candidate] {
        state.withLock { state in
            defer { state.pending.removeAll(keepingCapacity: true) }
            return state.pending
        }
    }
}
