import Foundation

/// The symmetric joint probabilities P of t-SNE, row by row (compressed sparse rows): row i holds
/// P_ij for the j in `columns[rowStart[i] ..< rowStart[i + 1]]`, ascending; the whole matrix sums to 1.
struct SparseAffinities: Sendable {
    var rowStart: [Int]
    var columns: [Int32]
    var values: [Double]
}

enum TSNEAffinities {
    /// x [N, D] → P over every pair (the exact method).
    static func exact(_ x: [Double], n: Int, d: Int, perplexity: Double) -> SparseAffinities {
        var conditional = [Double](repeating: 0, count: n * n)  // row i: p_{j|i}
        var distances = [Double](repeating: 0, count: n - 1)
        for i in 0..<n {
            var k = 0
            for j in 0..<n where j != i {
                distances[k] = squaredDistance(x, i, j, d: d)
                k += 1
            }
            let p = calibrated(distances, perplexity: perplexity)
            k = 0
            for j in 0..<n where j != i {
                conditional[i * n + j] = p[k]
                k += 1
            }
        }
        var rowStart = [0], columns: [Int32] = [], values: [Double] = []
        columns.reserveCapacity(n * (n - 1))
        values.reserveCapacity(n * (n - 1))
        let scale = 1 / (2 * Double(n))
        for i in 0..<n {
            for j in 0..<n where j != i {
                columns.append(Int32(j))
                values.append((conditional[i * n + j] + conditional[j * n + i]) * scale)
            }
            rowStart.append(columns.count)
        }
        return SparseAffinities(rowStart: rowStart, columns: columns, values: values)
    }

    /// x [N, D] → P over each point's `neighbours` nearest (exact search, O(N²·D) once), the
    /// Barnes–Hut method's input: farther pairs are given P = 0.
    static func nearestNeighbours(_ x: [Double], n: Int, d: Int, perplexity: Double, neighbours k: Int,
                                  threads: Int = 1) -> SparseAffinities {
        var index = [Int](repeating: 0, count: n * k), probability = [Double](repeating: 0, count: n * k)
        index.withUnsafeMutableBufferPointer { index in
            probability.withUnsafeMutableBufferPointer { probability in
                let (index, probability) = (UnsafeSendable(index), UnsafeSendable(probability))
                TSNE.forEachRow(n, threads: threads) { i in  // each row writes only its own k slots
                    var heap = NearestHeap(capacity: k)
                    for j in 0..<n where j != i { heap.offer(squaredDistance(x, i, j, d: d), j) }
                    let nearest = heap.items
                    let p = calibrated(nearest.map(\.distance), perplexity: perplexity)
                    for m in 0..<k {
                        index.value[i * k + m] = nearest[m].index
                        probability.value[i * k + m] = p[m]
                    }
                }
            }
        }
        let conditional = (0..<n).map { i in (0..<k).map { (index[i * k + $0], probability[i * k + $0]) } }
        return symmetrised(conditional, n: n)
    }

    /// p_{j|i} ∝ exp(−β·d_ij) over `distances` (squared), with β found by bisection so that the
    /// distribution's perplexity, exp(entropy), is `perplexity`.
    static func calibrated(_ distances: [Double], perplexity: Double) -> [Double] {
        guard let nearest = distances.min() else { return [] }
        let shifted = distances.map { $0 - nearest }  // exp(−β·0) = 1: no underflow to an all-zero row
        let target = log(perplexity)
        var beta = 1.0, low = 0.0, high = Double.infinity
        var p = [Double](repeating: 0, count: distances.count)
        for _ in 0..<200 {
            var sum = 0.0, weighted = 0.0
            for (k, s) in shifted.enumerated() {
                p[k] = exp(-beta * s)
                sum += p[k]
                weighted += s * p[k]
            }
            let entropy = log(sum) + beta * weighted / sum
            if abs(entropy - target) < 1e-6 { break }
            if entropy > target {
                low = beta
                beta = high.isFinite ? (beta + high) / 2 : beta * 2
            } else {
                high = beta
                beta = (beta + low) / 2
            }
        }
        let sum = p.reduce(0, +)
        return p.map { $0 / sum }
    }

    /// P_ij = (p_{j|i} + p_{i|j}) / 2N, as compressed rows.
    static func symmetrised(_ conditional: [[(Int, Double)]], n: Int) -> SparseAffinities {
        var rows = [[Int: Double]](repeating: [:], count: n)
        for (i, row) in conditional.enumerated() {
            for (j, p) in row {
                rows[i][j, default: 0] += p
                rows[j][i, default: 0] += p
            }
        }
        var rowStart = [0], columns: [Int32] = [], values: [Double] = []
        let scale = 1 / (2 * Double(n))
        for row in rows {
            for (j, p) in row.sorted(by: { $0.key < $1.key }) {
                columns.append(Int32(j))
                values.append(p * scale)
            }
            rowStart.append(columns.count)
        }
        return SparseAffinities(rowStart: rowStart, columns: columns, values: values)
    }

    static func squaredDistance(_ x: [Double], _ i: Int, _ j: Int, d: Int) -> Double {
        var sum = 0.0
        for k in 0..<d {
            let diff = x[i * d + k] - x[j * d + k]
            sum += diff * diff
        }
        return sum
    }
}

/// The `capacity` smallest distances offered, kept in a max-heap (ties: the lower index stays).
struct NearestHeap {
    struct Item { var distance: Double; var index: Int }
    let capacity: Int
    private(set) var heap: [Item] = []

    init(capacity: Int) { self.capacity = capacity }

    /// Nearest first.
    var items: [Item] { heap.sorted { ($0.distance, $0.index) < ($1.distance, $1.index) } }

    mutating func offer(_ distance: Double, _ index: Int) {
        let item = Item(distance: distance, index: index)
        if heap.count < capacity {
            heap.append(item)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard larger(heap[child], heap[parent]) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        } else if let top = heap.first, larger(top, item) {
            heap[0] = item
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var largest = parent
                if left < heap.count, larger(heap[left], heap[largest]) { largest = left }
                if right < heap.count, larger(heap[right], heap[largest]) { largest = right }
                if largest == parent { break }
                heap.swapAt(parent, largest)
                parent = largest
            }
        }
    }

    private func larger(_ a: Item, _ b: Item) -> Bool { (a.distance, a.index) > (b.distance, b.index) }
}
