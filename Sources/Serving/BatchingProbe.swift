import Foundation
import NeuralNet

/// Whether batching pays for a model on this machine: measured when a version loads, as the
/// convolution tuner measures kernels.
///
/// A batch of N shares every weight read N ways, which is why servers batch. For a small model
/// whose activations fit in the caches one image at a time the trade can go the other way: a
/// batch's activations spill out of L2 and each image costs more (scene-s on a Zen 5, one core:
/// 0.76–0.85 ms an image alone, 1.03–1.06 ms in a batch of 32). Such a model is served with each
/// request running to completion on the decode worker that decoded it, one core each, with no
/// wait for company and no hand-off to the batcher.
public enum BatchingProbe {
    /// Batching must save this fraction of an image's time to be worth the wait for a batch.
    public static let requiredSaving = 0.05
    /// The batch the probe compares with single images: large enough to show the weight reuse,
    /// small enough that a large model's load is not held up by it.
    public static let probeBatch = 8

    /// What the probe timed, kept with the version for its log line.
    public struct Measurement: Sendable, Equatable {
        /// Images in the timed batch.
        public var batch: Int
        /// Seconds per image, one image at a time and in the batch.
        public var aloneSeconds: Double
        public var batchedSeconds: Double
        public var pays: Bool { batchedSeconds < aloneSeconds * (1 - requiredSaving) }
    }

    /// Times `small` at one image and `large` at `min(maxBatch, probeBatch)` images, both on one
    /// core; nil for a model that never batches (`maxBatch` 1), which gains nothing from the batcher.
    public static func measure(small: InferenceModel, large: InferenceModel, maxBatch: Int) -> Measurement? {
        let batch = min(maxBatch, probeBatch)
        guard batch > 1 else { return nil }
        return Measurement(batch: batch, aloneSeconds: perImageSeconds(small, batch: 1),
                           batchedSeconds: perImageSeconds(large, batch: batch))
    }

    /// The fastest of three passes after an untimed one, per image: noise only ever adds time.
    static func perImageSeconds(_ model: InferenceModel, batch: Int) -> Double {
        let session = InferenceSession(model: model, threads: 1)
        let input = [Float](repeating: 0.5, count: batch * model.inputShape.size)
        var probabilities = [Float](repeating: 0, count: batch * model.classCount)
        var fastest = UInt64.max
        for pass in 0..<4 {
            let start = DispatchTime.now().uptimeNanoseconds
            input.withUnsafeBufferPointer { input in
                probabilities.withUnsafeMutableBufferPointer { output in
                    session.run(input.baseAddress!, batch: batch, probabilities: output.baseAddress!)
                }
            }
            if pass > 0 { fastest = min(fastest, DispatchTime.now().uptimeNanoseconds - start) }
        }
        return Double(fastest) / 1e9 / Double(batch)
    }
}
