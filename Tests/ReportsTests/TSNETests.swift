import Foundation
import Testing
@testable import Reports

/// t-SNE: the affinities have the asked perplexity, the exact gradient is the derivative of the
/// KL divergence it reports (finite differences), Barnes–Hut with θ = 0 is the exact gradient and
/// with θ = 0.5 close to it, and the maps keep separated clusters apart, reproducibly.
@Suite struct TSNETests {
    @Test(arguments: [5.0, 12.0, 30.0])
    func calibratedRowsHaveTheAskedPerplexity(perplexity: Double) {
        var random = SplitMix64(seed: 7)
        let distances = (0..<120).map { _ in abs(random.nextNormal()) * 40 }
        let p = TSNEAffinities.calibrated(distances, perplexity: perplexity)
        #expect(abs(p.reduce(0, +) - 1) < 1e-12)
        let entropy = -p.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
        #expect(abs(exp(entropy) - perplexity) < 1e-3 * perplexity, "perplexity \(exp(entropy))")
    }

    @Test func symmetricAffinitiesSumToOne() {
        let (x, n, d) = Self.clusters(perCluster: 10, clusters: 3, dimension: 6, seed: 1)
        for p in [TSNEAffinities.exact(x, n: n, d: d, perplexity: 5),
                  TSNEAffinities.nearestNeighbours(x, n: n, d: d, perplexity: 5, neighbours: 15)] {
            #expect(abs(p.values.reduce(0, +) - 1) < 1e-12)
            let dense = Self.dense(p, n: n)
            #expect((0..<n).allSatisfy { i in (0..<n).allSatisfy { j in abs(dense[i * n + j] - dense[j * n + i]) < 1e-15 } })
        }
    }

    @Test func exactGradientIsTheDerivativeOfTheDivergence() {
        let (x, n, d) = Self.clusters(perCluster: 4, clusters: 3, dimension: 5, seed: 2)
        let p = TSNEAffinities.exact(x, n: n, d: d, perplexity: 3)
        var random = SplitMix64(seed: 3)
        let y = (0..<(2 * n)).map { _ in random.nextNormal() }
        var gradient = [Double](repeating: 0, count: 2 * n)
        _ = TSNEGradient.exact(y, n: n, p: p, exaggeration: 1, divergence: true, into: &gradient)
        var scratch = gradient
        for k in 0..<(2 * n) {
            let h = 1e-6
            var plus = y, minus = y
            plus[k] += h
            minus[k] -= h
            let numeric = (TSNEGradient.exact(plus, n: n, p: p, exaggeration: 1, divergence: true, into: &scratch)
                           - TSNEGradient.exact(minus, n: n, p: p, exaggeration: 1, divergence: true, into: &scratch)) / (2 * h)
            #expect(abs(numeric - gradient[k]) < 1e-6 + 1e-4 * abs(numeric), "coordinate \(k): \(numeric) vs \(gradient[k])")
        }
    }

    @Test func barnesHutWithThetaZeroIsTheExactGradientAndCloseAtHalf() {
        let (x, n, d) = Self.clusters(perCluster: 20, clusters: 3, dimension: 8, seed: 4)
        let p = TSNEAffinities.exact(x, n: n, d: d, perplexity: 10)
        var random = SplitMix64(seed: 5)
        var y = (0..<(2 * n)).map { _ in random.nextNormal() * 3 }
        y[2] = y[0]; y[3] = y[1]  // two coincident points share a leaf
        var exact = [Double](repeating: 0, count: 2 * n), approximate = exact
        let klExact = TSNEGradient.exact(y, n: n, p: p, exaggeration: 4, divergence: true, into: &exact)
        let klTree = TSNEGradient.barnesHut(y, n: n, p: p, exaggeration: 4, theta: 0, divergence: true, into: &approximate)
        #expect(abs(klExact - klTree) < 1e-9)
        #expect(zip(exact, approximate).allSatisfy { abs($0 - $1) < 1e-10 })
        _ = TSNEGradient.barnesHut(y, n: n, p: p, exaggeration: 4, theta: 0.5, into: &approximate)
        let error = zip(exact, approximate).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let norm = exact.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(error < 0.05 * norm, "relative error \(error / norm)")
    }

    @Test(arguments: [TSNE.Method.exact, .barnesHut])
    func separatedClustersStayApartAndTheDivergenceFalls(method: TSNE.Method) {
        let (x, n, d) = Self.clusters(perCluster: 40, clusters: 3, dimension: 10, seed: 6)
        let points = Self.rows(x, n: n, d: d)
        var configuration = TSNEConfiguration()
        configuration.perplexity = 15
        configuration.iterations = 400
        configuration.exaggerationIterations = 100
        configuration.exactLimit = method == .exact ? n : 50
        let result = TSNE.embed(points, configuration: configuration)
        #expect(result.method == method)
        #expect(result.positions.count == n && result.positions.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isFinite) })
        // Each point's 10 nearest map neighbours come from its own cluster.
        var agree = 0
        for i in 0..<n {
            let nearest = (0..<n).filter { $0 != i }.sorted { Self.distance(result.positions[i], result.positions[$0])
                < Self.distance(result.positions[i], result.positions[$1]) }.prefix(10)
            agree += nearest.filter { $0 / 40 == i / 40 }.count
        }
        #expect(Double(agree) / Double(10 * n) > 0.95, "agreement \(Double(agree) / Double(10 * n))")
        // The divergence of the optimised map is far below the start's.
        let p = TSNEAffinities.exact(x, n: n, d: d, perplexity: 15)
        var gradient = [Double](repeating: 0, count: 2 * n)
        let start = TSNEGradient.exact(TSNE.start(points, configuration: configuration), n: n, p: p, exaggeration: 1, divergence: true, into: &gradient)
        let end = TSNEGradient.exact(result.positions.flatMap { $0.map(Double.init) }, n: n, p: p, exaggeration: 1, divergence: true, into: &gradient)
        #expect(end < 0.5 * start, "KL \(start) → \(end)")
    }

    @Test func theSameInputGivesTheSameMapAndSeedsChangeRandomStarts() {
        let (x, n, d) = Self.clusters(perCluster: 15, clusters: 2, dimension: 4, seed: 8)
        let points = Self.rows(x, n: n, d: d)
        var configuration = TSNEConfiguration()
        configuration.iterations = 100
        #expect(TSNE.embed(points, configuration: configuration).positions == TSNE.embed(points, configuration: configuration).positions)
        configuration.start = .random
        let first = TSNE.embed(points, configuration: configuration).positions
        #expect(first == TSNE.embed(points, configuration: configuration).positions)
        configuration.seed = 1
        #expect(first != TSNE.embed(points, configuration: configuration).positions)
    }

    @Test func theMapIsTheSameOnOneThreadAndOnSeveral() {
        let (x, n, d) = Self.clusters(perCluster: 100, clusters: 3, dimension: 6, seed: 9)
        let points = Self.rows(x, n: n, d: d)
        var configuration = TSNEConfiguration()
        configuration.iterations = 60
        configuration.exactLimit = 0
        configuration.threads = 1
        let one = TSNE.embed(points, configuration: configuration)
        configuration.threads = 3
        let three = TSNE.embed(points, configuration: configuration)
        #expect(one.method == .barnesHut)
        #expect(one.positions == three.positions)
        #expect(one.klDivergence == three.klDivergence)
    }

    @Test func degenerateInputsGiveFinitePositions() {
        #expect(TSNE.embed([]).positions.isEmpty)
        #expect(TSNE.embed([[1, 2, 3]]).positions == [[0, 0]])
        var configuration = TSNEConfiguration()
        configuration.iterations = 50
        let same = TSNE.embed(Array(repeating: [0.5, 0.5], count: 20), configuration: configuration)
        #expect(same.positions.count == 20 && same.positions.allSatisfy { $0.allSatisfy(\.isFinite) })
        let withNaN = TSNE.embed((0..<10).map { [Float($0), .nan] }, configuration: configuration)
        #expect(withNaN.positions.allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    /// `clusters` Gaussian blobs (σ = 1) with centres 20 apart along different axes: x [N, D] row-major.
    static func clusters(perCluster: Int, clusters: Int, dimension: Int, seed: UInt64) -> ([Double], Int, Int) {
        var random = SplitMix64(seed: seed)
        var x: [Double] = []
        for c in 0..<clusters {
            for _ in 0..<perCluster {
                for k in 0..<dimension { x.append(random.nextNormal() + (k == c % dimension ? 20 : 0)) }
            }
        }
        return (x, perCluster * clusters, dimension)
    }

    /// x [N, D] row-major → N rows of Float, as `TSNE.embed` takes them.
    static func rows(_ x: [Double], n: Int, d: Int) -> [[Float]] {
        (0..<n).map { i in (0..<d).map { Float(x[i * d + $0]) } }
    }

    static func dense(_ p: SparseAffinities, n: Int) -> [Double] {
        var dense = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for entry in p.rowStart[i]..<p.rowStart[i + 1] { dense[i * n + Int(p.columns[entry])] = p.values[entry] }
        }
        return dense
    }

    static func distance(_ a: [Float], _ b: [Float]) -> Float {
        (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1])
    }
}
