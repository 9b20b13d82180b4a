/// The `k` largest scores seen, in a binary min-heap: a new score costs one comparison when it
/// cannot enter, O(log k) when it does.
struct TopK {
    let k: Int
    private(set) var entries: [(score: Float, row: Int)] = []

    init(_ k: Int) {
        self.k = k
        entries.reserveCapacity(k)
    }

    /// Whether `score` would enter: the heap is not full, or it beats the smallest kept. Ties with
    /// the smallest keep the earlier row, so results do not depend on thread timing.
    func admits(_ score: Float) -> Bool { score > threshold }

    /// What a score must beat to enter: -infinity until the heap is full.
    var threshold: Float { entries.count < k ? -.infinity : entries[0].score }

    mutating func insert(score: Float, row: Int) {
        if entries.count < k {
            entries.append((score, row))
            var child = entries.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.less(entries[child], entries[parent]) else { break }
                entries.swapAt(child, parent)
                child = parent
            }
        } else {
            entries[0] = (score, row)
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < entries.count, Self.less(entries[left], entries[smallest]) { smallest = left }
                if right < entries.count, Self.less(entries[right], entries[smallest]) { smallest = right }
                if smallest == parent { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }

    /// Best first; equal scores by row, so the order is deterministic.
    func sorted() -> [(score: Float, row: Int)] {
        entries.sorted { $0.score != $1.score ? $0.score > $1.score : $0.row < $1.row }
    }

    /// Heap order: the smaller score is "less"; on a tie the later row, so it leaves first.
    private static func less(_ a: (score: Float, row: Int), _ b: (score: Float, row: Int)) -> Bool {
        a.score != b.score ? a.score < b.score : a.row > b.row
    }
}
