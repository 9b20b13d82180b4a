import Synchronization

/// Bytes of request bodies the server is holding, against a fixed budget. A request whose
/// declared size does not fit is refused before any of its body is read, so a burst of large
/// uploads sheds load instead of growing the heap.
public final class InflightBudget: Sendable {
    public let limit: Int
    private let held = Atomic<Int>(0)

    public init(limit: Int) {
        precondition(limit > 0, "the in-flight budget must be positive")
        self.limit = limit
    }

    /// Bytes reserved right now.
    public var inUse: Int { held.load(ordering: .relaxed) }

    /// Reserves `bytes` if they fit within the limit.
    public func reserve(_ bytes: Int) -> Bool {
        var current = held.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else { return false }
            let (exchanged, original) = held.compareExchange(expected: current, desired: current + bytes,
                                                             ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    public func release(_ bytes: Int) {
        held.subtract(bytes, ordering: .relaxed)
    }

}
