import Foundation
import Synchronization

/// The bytes of recently predicted images, by image id, so feedback can refer to an image by the
/// id Predict returned without sending it again. Bounded by total bytes (oldest forgotten first);
/// an image becomes durable only when feedback names it and the store keeps it.
public final class RecentImages: Sendable {
    public let capacityBytes: Int
    private let state = Mutex(State())

    private struct State {
        var images: [String: Data] = [:]
        var order: [String] = []
        var head = 0
        var bytes = 0
    }

    public init(capacityBytes: Int = 256 << 20) {
        self.capacityBytes = capacityBytes
    }

    public func remember(_ bytes: Data, id: String) {
        guard bytes.count <= capacityBytes else { return }
        state.withLock { state in
            guard state.images[id] == nil else { return }
            state.images[id] = bytes
            state.order.append(id)
            state.bytes += bytes.count
            while state.bytes > capacityBytes, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                if let removed = state.images.removeValue(forKey: oldest) { state.bytes -= removed.count }
            }
            if state.head > 1024, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    public func bytes(for id: String) -> Data? {
        state.withLock { $0.images[id] }
    }

    public var count: Int { state.withLock { $0.images.count } }
}
