import Foundation
import NeuralNet
import Synchronization

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
    public struct Measurement: Sendable, Equatable, CustomStringConvertible {
        /// Images in the timed batch.
        public var batch: Int
        /// Seconds per image, one image at a time and in the batch.
        public var aloneSeconds: Double
        public var batchedSeconds: Double

        /// For the version's log line: "0.75 ms an image alone, 0.76 in a batch of 8, one core".
        public var description: String {
            String(format: "%.2f ms an image alone, %.2f in a batch of %d, one core", aloneSeconds * 1000, batchedSeconds * 1000, batch)
        }

        /// Whether a batch saves at least `requiredSaving` of an image's time.
        public var batchSaves: Bool { batchedSeconds < aloneSeconds * (1 - requiredSaving) }

        /// Whether requests should share batches: yes when a batch saves, and also when a one-core
        /// pass is longer than `window` (the batching window). A request alone on one core then
        /// takes no longer than the batcher may keep it waiting for company, while a longer pass is
        /// better split across cores when only a few requests are in flight.
        public func prefersBatching(window: Duration) -> Bool {
            batchSaves || aloneSeconds > Double(window.nanoseconds) / 1e9
        }
    }

    /// Times `small` at one image and the plan a batch of `min(maxBatch, probeBatch)` runs on
    /// (`small` up to `ModelSnapshot.smallBatchLimit` images, `large` beyond), both on one core;
    /// nil for a model that never batches (`maxBatch` 1), which the batcher serves one at a time.
    static func measure(small: InferenceModel, large: InferenceModel, maxBatch: Int) -> Measurement? {
        let batch = min(maxBatch, probeBatch)
        guard batch > 1 else { return nil }
        let batched = batch <= ModelSnapshot.smallBatchLimit ? small : large
        return Measurement(batch: batch, aloneSeconds: perImageSeconds(small, batch: 1),
                           batchedSeconds: perImageSeconds(batched, batch: batch))
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

    /// Measurements already taken, by architecture and largest batch. A retrained version of the
    /// same architecture reuses its predecessor's, so a promotion does not pay for the probe again
    /// and the serving mode does not flip with the host's noise between versions.
    public final class Cache: Sendable {
        private struct Entry {
            var input: InputSpec
            var layers: [LayerSpec]
            var maxBatch: Int
            var measurement: Measurement?
        }
        private let entries = Mutex<[Entry]>([])

        public init() {}

        /// The measurement for `spec` at `maxBatch`, taken by `measure` the first time only.
        func measurement(for spec: ModelSpec, maxBatch: Int, measure: () -> Measurement?) -> Measurement? {
            let known = entries.withLock { entries in
                entries.first { $0.input == spec.input && $0.layers == spec.layers && $0.maxBatch == maxBatch }
            }
            if let known { return known.measurement }
            // Timed outside the lock: a probe takes up to a second, and other loads need not wait.
            let taken = measure()
            entries.withLock { $0.append(Entry(input: spec.input, layers: spec.layers, maxBatch: maxBatch, measurement: taken)) }
            return taken
        }
    }
}
