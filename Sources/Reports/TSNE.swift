import Foundation

/// t-SNE (van der Maaten & Hinton 2008; Barnes–Hut: van der Maaten 2014): a 2-D map in which
/// points that are neighbours in the embedding space stay neighbours: the report's "which images
/// does the model think are alike" view, where PCA's linear projection piles clusters on top of
/// each other.
///
/// Exact O(N²) below `TSNEConfiguration.exactLimit` points; above it, input affinities over the
/// 3·perplexity nearest neighbours and Barnes–Hut repulsion on a quadtree (O(N log N) per step).
/// Deterministic: the start is the PCA projection (or seeded Gaussian noise), and every sum runs
/// in a fixed order, so the same input and configuration give the same map.
public enum TSNE {
    public enum Method: String, Sendable, Equatable { case exact, barnesHut = "barnes-hut" }

    public static func embed(_ points: [[Float]], configuration: TSNEConfiguration = TSNEConfiguration()) -> TSNEResult {
        let n = points.count
        let method: Method = n > configuration.exactLimit ? .barnesHut : .exact
        guard n >= 2, let d = points.first?.count, d > 0 else {
            return TSNEResult(positions: points.map { _ in [0, 0] }, klDivergence: 0, method: method, perplexity: 0)
        }
        var x = [Double](repeating: 0, count: n * d)
        for (i, row) in points.enumerated() {
            for j in 0..<min(d, row.count) where row[j].isFinite { x[i * d + j] = Double(row[j]) }
        }
        // A perplexity needs more neighbours than it counts: at most (N − 1) / 3, as scikit-learn.
        let perplexity = max(1, min(configuration.perplexity, Double(n - 1) / 3))
        let affinities = method == .exact
            ? TSNEAffinities.exact(x, n: n, d: d, perplexity: perplexity)
            : TSNEAffinities.nearestNeighbours(x, n: n, d: d, perplexity: perplexity,
                                                neighbours: min(n - 1, Int((3 * perplexity).rounded(.up))),
                                                threads: configuration.threads)
        var y = start(points, configuration: configuration)
        let kl = optimise(&y, n: n, affinities: affinities, method: method, configuration: configuration)
        let positions = (0..<n).map { [Float(y[2 * $0]), Float(y[2 * $0 + 1])] }
        return TSNEResult(positions: positions, klDivergence: kl, method: method, perplexity: perplexity)
    }

    /// y [N, 2]: the first two principal components scaled to a standard deviation of 1e-4 (what
    /// scikit-learn's `init="pca"` does), or seeded Gaussian noise of that size.
    static func start(_ points: [[Float]], configuration: TSNEConfiguration) -> [Double] {
        let n = points.count
        var y = [Double](repeating: 0, count: 2 * n)
        switch configuration.start {
        case .pca:
            let projected = PCA.project(points, components: 2)
            let first = projected.map { Double($0[0]) }
            let mean = first.reduce(0, +) / Double(n)
            let sd = (first.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)).squareRoot()
            let scale = sd > 0 ? 1e-4 / sd : 0
            for i in 0..<n {
                y[2 * i] = Double(projected[i][0]) * scale
                y[2 * i + 1] = Double(projected[i][1]) * scale
            }
            if scale > 0 { return y }
            fallthrough  // all points alike along every axis: noise instead
        case .random:
            var random = SplitMix64(seed: configuration.seed)
            for i in 0..<(2 * n) { y[i] = 1e-4 * random.nextNormal() }
        }
        return y
    }

    /// Gradient descent with momentum and per-coordinate gains (the reference implementation's
    /// schedule): early exaggeration of P for the first iterations, momentum 0.5 then 0.8.
    /// Returns KL(P‖Q) at the positions the last step started from.
    static func optimise(_ y: inout [Double], n: Int, affinities: SparseAffinities, method: Method,
                         configuration c: TSNEConfiguration) -> Double {
        let rate = c.learningRate ?? max(Double(n) / c.earlyExaggeration / 4, 50)
        var velocity = [Double](repeating: 0, count: 2 * n)
        var gains = [Double](repeating: 1, count: 2 * n)
        var gradient = [Double](repeating: 0, count: 2 * n)
        var kl = 0.0
        for iteration in 0..<max(0, c.iterations) {
            let exaggerating = iteration < c.exaggerationIterations
            let exaggeration = exaggerating ? c.earlyExaggeration : 1
            let momentum = exaggerating ? 0.5 : 0.8
            let last = iteration == c.iterations - 1
            switch method {
            case .exact:
                kl = TSNEGradient.exact(y, n: n, p: affinities, exaggeration: exaggeration, divergence: last, into: &gradient)
            case .barnesHut:
                kl = TSNEGradient.barnesHut(y, n: n, p: affinities, exaggeration: exaggeration, theta: c.theta,
                                            divergence: last, threads: c.threads, into: &gradient)
            }
            for i in 0..<(2 * n) {
                gains[i] = (gradient[i] > 0) != (velocity[i] > 0) ? gains[i] + 0.2 : max(gains[i] * 0.8, 0.01)
                velocity[i] = momentum * velocity[i] - rate * gains[i] * gradient[i]
                y[i] += velocity[i]
            }
            // Keep the map centred so the quadtree's bounds and the numbers stay small.
            var mx = 0.0, my = 0.0
            for i in 0..<n { mx += y[2 * i]; my += y[2 * i + 1] }
            mx /= Double(n); my /= Double(n)
            for i in 0..<n { y[2 * i] -= mx; y[2 * i + 1] -= my }
        }
        return kl
    }
}

public struct TSNEConfiguration: Sendable, Equatable {
    public enum Start: Sendable, Equatable { case pca, random }
    /// The effective number of neighbours each point's affinities spread over (5–50 is usual).
    public var perplexity: Double = 30
    public var iterations: Int = 1000
    /// Barnes–Hut accuracy: a cell whose width seen from a point is below θ counts as one point.
    public var theta: Double = 0.5
    /// Up to this many points, the exact O(N²) gradient. Measured (bench/run-tsne-bench, 64-d
    /// points, one thread each, three runs): 500 points take 0.53–0.95 s exact against 0.79–1.01 s
    /// Barnes–Hut, 1,000 take 2.43–2.88 s against 2.34–2.38 s.
    public var exactLimit: Int = 700
    public var start: Start = .pca
    /// Seeds `.random` starts (and a PCA start that degenerates to one).
    public var seed: UInt64 = 0
    /// nil: max(N / earlyExaggeration / 4, 50), scikit-learn's "auto".
    public var learningRate: Double?
    public var earlyExaggeration: Double = 12
    public var exaggerationIterations: Int = 250
    /// Threads for the neighbour search and the Barnes–Hut forces; the map is the same for any count.
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    public init() {}
}

public struct TSNEResult: Sendable {
    /// One [x, y] per input point, in input order.
    public var positions: [[Float]]
    /// KL(P‖Q) at the last iteration, with P as optimised (exact, or over the nearest neighbours).
    public var klDivergence: Double
    public var method: TSNE.Method
    /// The perplexity used (the asked one, capped at (N − 1) / 3).
    public var perplexity: Double
}

extension TSNE {
    /// Runs `body(i)` for every row in 0..<count, split into contiguous shares over `threads`.
    static func forEachRow(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        forEachShare(count, threads: threads) { range in for i in range { body(i) } }
    }

    /// Runs `body(range)` for up to `threads` contiguous shares of 0..<count, of at least 64 rows
    /// each (on this thread when there is one share).
    static func forEachShare(_ count: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = max(1, min(threads, count / 64))
        if parts == 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            body((count * part / parts)..<(count * (part + 1) / parts))
        }
    }
}

/// A buffer handed to parallel rows that each write only their own slots.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension SplitMix64 {
    /// A standard normal sample (Box–Muller), for a random start's noise.
    mutating func nextNormal() -> Double {
        let u1 = max(nextDouble(), 1e-300)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * nextDouble())
    }
}
