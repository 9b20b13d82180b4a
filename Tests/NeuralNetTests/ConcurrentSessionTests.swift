import Foundation
import Testing
@testable import NeuralNet
import Tensor

/// One immutable model, many sessions on many threads: every thread must get exactly the
/// single-threaded answer, which it can only do if no session writes into shared state.
@Suite struct ConcurrentSessionTests {
    @Test func sessionsOnSeveralThreadsAgreeWithSerialRun() throws {
        let spec = ModelSpec(
            name: "tiny", input: InputSpec(height: 12, width: 12),
            layers: [.conv(out: 16, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                     .conv(out: 16, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                     .maxPool(kernel: 2, stride: 2, padding: 0), .globalAvgPool, .dense(out: nil)],
            labels: ["a", "b", "c"])
        let network = try Network(spec: spec, seed: 7)
        let model = network.inferenceModel()
        let batch = 3, size = 3 * 12 * 12
        let inputs: [[Float]] = (0..<8).map { i in
            var rng = SeededGenerator(seed: UInt64(100 + i))
            return (0..<(batch * size)).map { _ in rng.nextNormal() }
        }
        @Sendable func predict(_ input: [Float], session: InferenceSession) -> [Float] {
            var out = [Float](repeating: 0, count: batch * 3)
            input.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { o in session.run(x.baseAddress!, batch: batch, probabilities: o.baseAddress!) }
            }
            return out
        }
        let serial = inputs.map { predict($0, session: InferenceSession(model: model, threads: 1)) }
        let buffer = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: inputs.count * 4)
        buffer.initialize(repeating: [])
        defer { buffer.deallocate() }
        // Each worker writes only its own slots.
        nonisolated(unsafe) let results = buffer
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let session = InferenceSession(model: model, threads: 1)
            for (index, input) in inputs.enumerated() {
                results[worker * inputs.count + index] = predict(input, session: session)
            }
        }
        for worker in 0..<4 {
            for index in inputs.indices {
                #expect(results[worker * inputs.count + index] == serial[index], "worker \(worker) input \(index)")
            }
        }
        // A two-worker session splits the same work differently; it must agree to rounding.
        let parallel = InferenceSession(model: model, threads: 2)
        for (index, input) in inputs.enumerated() {
            let diff = zip(predict(input, session: parallel), serial[index]).map { abs($0 - $1) }.max() ?? 0
            #expect(diff < 1e-5)
        }
    }
}
