import Foundation

/// ∂KL(P‖Q)/∂y for t-SNE's Student-t map, q_ij = (1 + |y_i − y_j|²)⁻¹ / Z:
/// g_i = 4 Σ_j (α·P_ij − q_ij)·(1 + |y_i − y_j|²)⁻¹·(y_i − y_j), α the early exaggeration,
/// split as 4·(α·attraction_i − repulsion_i / Z) so one pass over the pairs finds Z too. With
/// `divergence`, both also return KL(P‖Q) for the unexaggerated P (a log per stored pair, so only
/// when asked); otherwise 0.
enum TSNEGradient {
    /// y [N, 2], P over every pair (`TSNEAffinities.exact`'s layout: row i holds every j ≠ i in
    /// order) → gradient [N, 2]. O(N²), each pair once.
    static func exact(_ y: [Double], n: Int, p: SparseAffinities, exaggeration: Double, divergence: Bool = false,
                      into gradient: inout [Double]) -> Double {
        precondition(p.values.count == n * (n - 1), "the exact gradient needs P over every pair")
        var attraction = [Double](repeating: 0, count: 2 * n), repulsion = attraction
        var z = 0.0
        p.values.withUnsafeBufferPointer { pv in
            y.withUnsafeBufferPointer { y in
                attraction.withUnsafeMutableBufferPointer { attraction in
                    repulsion.withUnsafeMutableBufferPointer { repulsion in
                        let (pv, y, att, rep) = (pv.baseAddress!, y.baseAddress!, attraction.baseAddress!, repulsion.baseAddress!)
                        for i in 0..<n {
                            let xi = y[2 * i], yi = y[2 * i + 1]
                            let row = pv + i * (n - 1) - 1  // row[j] = P_ij for j > i
                            var ax = 0.0, ay = 0.0, rx = 0.0, ry = 0.0, zi = 0.0
                            for j in (i + 1)..<n {
                                let dx = xi - y[2 * j], dy = yi - y[2 * j + 1]
                                let num = 1 / (1 + dx * dx + dy * dy)
                                let a = row[j] * num, r = num * num
                                ax += a * dx; ay += a * dy; rx += r * dx; ry += r * dy
                                att[2 * j] -= a * dx; att[2 * j + 1] -= a * dy
                                rep[2 * j] -= r * dx; rep[2 * j + 1] -= r * dy
                                zi += num
                            }
                            att[2 * i] += ax; att[2 * i + 1] += ay
                            rep[2 * i] += rx; rep[2 * i + 1] += ry
                            z += 2 * zi
                        }
                    }
                }
            }
        }
        for k in 0..<(2 * n) { gradient[k] = 4 * (exaggeration * attraction[k] - repulsion[k] / z) }
        guard divergence else { return 0 }
        var kl = 0.0
        for i in 0..<n {
            for j in 0..<n where j != i {
                let pij = p.values[i * (n - 1) + (j > i ? j - 1 : j)]
                if pij > 0 { kl += pij * log(pij * z * (1 + squaredDistance(y, i, j))) }
            }
        }
        return kl
    }

    /// The same with the repulsive part from a quadtree: a cell that looks smaller than `theta`
    /// (width ÷ distance) from y_i acts as all its points at their centre of mass. θ = 0 is exact.
    /// The attractive part uses only P's stored pairs. O(N log N) for a fixed θ > 0.
    static func barnesHut(_ y: [Double], n: Int, p: SparseAffinities, exaggeration: Double, theta: Double,
                          divergence: Bool = false, threads: Int = 1, into gradient: inout [Double]) -> Double {
        let tree = QuadTree(y, n: n)
        var shares = [Double](repeating: 0, count: n)  // each point's part of Z
        var repulsion = [Double](repeating: 0, count: 2 * n)
        shares.withUnsafeMutableBufferPointer { shares in
            repulsion.withUnsafeMutableBufferPointer { repulsion in
                let (shares, repulsion) = (UnsafeSendable(shares), UnsafeSendable(repulsion))
                TSNE.forEachRow(n, threads: threads) { i in  // row i writes only its own slots
                    let (zi, fx, fy) = tree.repulsion(on: i, theta: theta)
                    shares.value[i] = zi
                    repulsion.value[2 * i] = fx
                    repulsion.value[2 * i + 1] = fy
                }
            }
        }
        let z = shares.reduce(0, +)  // in index order, whatever the threads: the same map every run
        let forces = repulsion
        var divergences = [Double](repeating: 0, count: divergence ? n : 0)
        gradient.withUnsafeMutableBufferPointer { gradient in
            divergences.withUnsafeMutableBufferPointer { divergences in
                let (gradient, divergences) = (UnsafeSendable(gradient), UnsafeSendable(divergences))
                TSNE.forEachRow(n, threads: threads) { i in  // row i writes only its own slots
                    var ax = 0.0, ay = 0.0, kl = 0.0
                    for entry in p.rowStart[i]..<p.rowStart[i + 1] {
                        let j = Int(p.columns[entry])
                        let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                        let num = 1 / (1 + dx * dx + dy * dy)
                        let pij = p.values[entry]
                        ax += pij * num * dx
                        ay += pij * num * dy
                        if divergence, pij > 0 { kl += pij * log(pij * z / num) }
                    }
                    gradient.value[2 * i] = 4 * (exaggeration * ax - forces[2 * i] / z)
                    gradient.value[2 * i + 1] = 4 * (exaggeration * ay - forces[2 * i + 1] / z)
                    if divergence { divergences.value[i] = kl }
                }
            }
        }
        return divergences.reduce(0, +)  // in index order too
    }

    static func squaredDistance(_ y: [Double], _ i: Int, _ j: Int) -> Double {
        let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
        return dx * dx + dy * dy
    }
}

/// A region quadtree over 2-D points, each node with its points' count and summed positions.
/// Leaves hold one point, or several that coincide (or that are closer than `maxDepth` halvings
/// of the whole map can separate).
struct QuadTree {
    private var centreX: [Double] = [], centreY: [Double] = [], half: [Double] = []
    private var sumX: [Double] = [], sumY: [Double] = [], count: [Int] = []
    private var firstChild: [Int] = []  // −1: leaf; else the first of four consecutive children
    private var leafOf: [Int]
    private var summaries: [Summary] = []
    private let y: [Double]
    static let maxDepth = 48

    init(_ y: [Double], n: Int) {
        self.y = y
        leafOf = [Int](repeating: 0, count: n)
        for capacity in [4 * n + 8] {
            centreX.reserveCapacity(capacity); centreY.reserveCapacity(capacity); half.reserveCapacity(capacity)
            sumX.reserveCapacity(capacity); sumY.reserveCapacity(capacity); count.reserveCapacity(capacity)
            firstChild.reserveCapacity(capacity)
        }
        var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
        for i in 0..<n {
            minX = min(minX, y[2 * i]); maxX = max(maxX, y[2 * i])
            minY = min(minY, y[2 * i + 1]); maxY = max(maxY, y[2 * i + 1])
        }
        let side = max(maxX - minX, maxY - minY)
        addNode(x: (minX + maxX) / 2, y: (minY + maxY) / 2, half: side / 2 * (1 + 1e-6) + 1e-12)
        for i in 0..<n { insert(i) }
        for i in 0..<n { leafOf[i] = leaf(containing: y[2 * i], y[2 * i + 1]) }
        summaries = (0..<count.count).map { node in
            let c = Double(max(1, count[node]))
            return Summary(x: sumX[node] / c, y: sumY[node] / c, widthSquared: 4 * half[node] * half[node],
                           count: Int32(count[node]), firstChild: Int32(firstChild[node]))
        }
    }

    /// For point i: Σ_j q̂_ij (the share of Z) and Σ_j q̂_ij²·(y_i − y_j), q̂ = (1 + d²)⁻¹, j ≠ i.
    func repulsion(on i: Int, theta: Double) -> (z: Double, fx: Double, fy: Double) {
        let px = y[2 * i], py = y[2 * i + 1], own = Int32(leafOf[i])
        let thetaSquared = theta * theta
        var z = 0.0, fx = 0.0, fy = 0.0
        // Depth-first: at most three siblings wait per level, plus the four just pushed.
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 3 * Self.maxDepth + 8) { stack in
            summaries.withUnsafeBufferPointer { nodes in
                var top = 1
                stack[0] = 0
                while top > 0 {
                    top -= 1
                    let index = stack[top]
                    let node = nodes[Int(index)]
                    var c = node.count
                    if c == 0 { continue }
                    let dx = px - node.x, dy = py - node.y
                    let d2 = dx * dx + dy * dy
                    if node.firstChild < 0 {
                        if index == own { c -= 1 }  // not itself
                        if c == 0 { continue }
                    } else if node.widthSquared >= thetaSquared * d2 {
                        for k in Int32(0)..<4 { stack[top] = node.firstChild + k; top += 1 }
                        continue
                    }
                    let q = 1 / (1 + d2), weight = Double(c) * q
                    z += weight
                    fx += weight * q * dx
                    fy += weight * q * dy
                }
            }
        }
        return (z, fx, fy)
    }

    /// What a traversal reads of a node, in one place: its centre of mass, its width², its count
    /// and its first child (−1 for a leaf).
    struct Summary {
        var x: Double, y: Double, widthSquared: Double
        var count: Int32, firstChild: Int32
    }

    private mutating func addNode(x: Double, y: Double, half h: Double) {
        centreX.append(x); centreY.append(y); half.append(h)
        sumX.append(0); sumY.append(0); count.append(0); firstChild.append(-1)
    }

    private func quadrant(_ node: Int, _ x: Double, _ y: Double) -> Int {
        firstChild[node] + (x >= centreX[node] ? 1 : 0) + (y >= centreY[node] ? 2 : 0)
    }

    private mutating func insert(_ i: Int) {
        let x = y[2 * i], yy = y[2 * i + 1]
        var node = 0, depth = 0
        while true {
            let before = count[node]
            sumX[node] += x; sumY[node] += yy; count[node] += 1
            if firstChild[node] >= 0 {
                node = quadrant(node, x, yy)
                depth += 1
                continue
            }
            if before == 0 { return }
            // A leaf with points already: they all sit at (nearly) their mean.
            let oldX = (sumX[node] - x) / Double(before), oldY = (sumY[node] - yy) / Double(before)
            if (oldX == x && oldY == yy) || depth >= Self.maxDepth { return }
            let h = half[node] / 2
            firstChild[node] = count.count
            for (sx, sy) in [(-1.0, -1.0), (1, -1), (-1, 1), (1, 1)] {
                addNode(x: centreX[node] + sx * h, y: centreY[node] + sy * h, half: h)
            }
            let moved = quadrant(node, oldX, oldY)
            sumX[moved] = oldX * Double(before); sumY[moved] = oldY * Double(before); count[moved] = before
            node = quadrant(node, x, yy)
            depth += 1
        }
    }

    private func leaf(containing x: Double, _ yy: Double) -> Int {
        var node = 0
        while firstChild[node] >= 0 { node = quadrant(node, x, yy) }
        return node
    }
}
