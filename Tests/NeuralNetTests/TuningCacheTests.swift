import Testing
@testable import NeuralNet
import Tensor

/// Kernel timings depend on shapes, not weights: a second version of the same architecture is
/// tuned from the cache without timing anything, and computes what its own weights say.
@Suite struct TuningCacheTests {
    @Test func secondVersionReusesTimingsAndKeepsItsOwnWeights() throws {
        let spec = InferenceTests.sceneLike()
        let first = try preparedNetwork(spec, seed: 1, threads: 1, randomState: true).inferenceModel()
        let secondNetwork = try preparedNetwork(spec, seed: 2, threads: 1, randomState: true)
        let second = secondNetwork.inferenceModel()
        let cache = ConvolutionTuningCache()
        let tunedFirst = first.tuned(batch: 4, threads: 1, cache: cache)
        let timed = cache.count
        #expect(timed == Set(first.convolutions.filter { $0.geometry.isWinogradCandidate }.map(\.geometry)).count)

        let tunedSecond = second.tuned(batch: 4, threads: 1, cache: cache)
        #expect(cache.count == timed, "nothing new was timed")
        #expect(tunedSecond.convolutions.map(\.algorithm) == tunedFirst.convolutions.map(\.algorithm))

        // Whatever algorithm the cache chose, the second model still computes its own function.
        let x = uniformArray(4 * secondNetwork.inputShape.size, seed: 3, in: -1...1)
        let expected = softmaxRows(secondNetwork.logits(x, batch: 4, training: false), columns: secondNetwork.classCount)
        let actual = InferenceTests.run(tunedSecond, x, batch: 4, threads: 1).probabilities
        for (a, e) in zip(actual, expected) { #expect(abs(a - e) < 1e-4) }

        _ = second.tuned(batch: 1, threads: 1, cache: cache)
        #expect(cache.count > timed, "another batch size is timed on its own")
    }
}
