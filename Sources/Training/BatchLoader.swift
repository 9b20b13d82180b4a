import Dispatch
import Imaging
import NeuralNet
import Tensor

/// One prepared batch: NCHW input and the dataset indices it holds. `input` stays valid until the
/// loader hands out the batch after next.
public struct Batch {
    public let input: UnsafePointer<Float>
    public let indices: [Int]
    public var count: Int { indices.count }
}

/// Turns decoded images into shuffled, optionally augmented NCHW batches, preparing batch k+1 on
/// its own thread while the caller trains on batch k.
///
/// Augmentation draws from a generator seeded by (seed, epoch, image), so a run is reproducible
/// whatever the thread timing.
public final class BatchLoader: @unchecked Sendable {
    public let images: DecodedImages
    public let spec: PreprocessSpec
    public let batchSize: Int
    public let augmentation: AugmentationSpec?
    public let seed: UInt64
    private let buffers: [FloatBuffer]
    private let queue = DispatchQueue(label: "boundary.batch-loader")
    /// Seconds spent preparing batches (on the loader thread) and waiting for them (on the caller's).
    public private(set) var preparationSeconds = 0.0
    public private(set) var waitSeconds = 0.0

    public init(images: DecodedImages, spec: PreprocessSpec, batchSize: Int,
                augmentation: AugmentationSpec? = nil, seed: UInt64 = 0) {
        precondition(batchSize > 0, "batch size must be positive")
        self.images = images
        self.spec = spec
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.seed = seed
        buffers = (0..<2).map { _ in FloatBuffer(count: batchSize * spec.floatsPerImage) }
    }

    public func batchCount() -> Int { (images.count + batchSize - 1) / batchSize }

    /// The order of one epoch: a seeded shuffle, or the dataset order when `shuffle` is false.
    public func order(epoch: Int, shuffle: Bool) -> [Int] {
        var order = Array(0..<images.count)
        if shuffle {
            var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
            order.shuffle(using: &rng)
        }
        return order
    }

    /// Calls `body` with every batch of the epoch, prefetching the next one meanwhile.
    public func forEachBatch(epoch: Int, shuffle: Bool, _ body: (Batch) throws -> Void) rethrows {
        let order = order(epoch: epoch, shuffle: shuffle)
        let slices = stride(from: 0, to: order.count, by: batchSize).map { Array(order[$0..<min($0 + batchSize, order.count)]) }
        guard !slices.isEmpty else { return }
        prepare(slices[0], epoch: epoch, into: buffers[0])
        for (k, indices) in slices.enumerated() {
            let group = DispatchGroup()
            if k + 1 < slices.count {
                let next = slices[k + 1], buffer = buffers[(k + 1) % 2]
                queue.async(group: group) { self.prepare(next, epoch: epoch, into: buffer) }
            }
            // Wait for the prefetch even when `body` throws, so no preparation outlives the call.
            defer {
                let start = DispatchTime.now().uptimeNanoseconds
                group.wait()
                waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            try body(Batch(input: buffers[k % 2].pointer, indices: indices))
        }
    }

    private func prepare(_ indices: [Int], epoch: Int, into buffer: FloatBuffer) {
        let start = DispatchTime.now().uptimeNanoseconds
        let stride = spec.floatsPerImage
        for (slot, index) in indices.enumerated() {
            let output = buffer.pointer + slot * stride
            // Both calls only fail for an invalid spec, which the model spec has already ruled out.
            if let augmentation {
                var rng = SeededGenerator(seed: seed ^ (UInt64(epoch) << 40) ^ UInt64(index) &* 0xD6E8_FEB8_6659_FD93)
                try? Augmenter.augment(images.images[index], spec: spec, augmentation: augmentation, rng: &rng, into: output)
            } else {
                try? Preprocessor.preprocess(images.images[index], spec: spec, into: output)
            }
        }
        preparationSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Dataset labels of a batch as cross-entropy targets.
    public func targets(_ batch: Batch) -> [Target] { batch.indices.map { .label(images.labels[$0]) } }

    /// Per head, the batch's targets (nil where an image has no label for that head).
    public func headTargets(_ batch: Batch, heads: Int) -> [[Target?]] {
        (0..<heads).map { head in
            let labels = images.labels(forHead: head)
            return batch.indices.map { labels[$0].map(Target.label) }
        }
    }
}
