import Synchronization
import Tensor

/// The fastest convolution algorithm per (layer shape, batch, threads), as timed on this machine.
///
/// The winner depends only on the shape and the machine, never on the weights, so every version
/// of a model — a retrain's candidate, a promotion, a rollback — reuses the timings of the first
/// version loaded instead of spending seconds re-timing identical layers before it can serve.
public final class ConvolutionTuningCache: Sendable {
    struct Key: Hashable {
        var geometry: ConvGeometry
        var batch: Int
        var threads: Int
    }

    private let choices = Mutex<[Key: ConvolutionAlgorithm]>([:])

    public init() {}

    /// How many (shape, batch, threads) choices have been timed so far.
    public var count: Int { choices.withLock { $0.count } }

    func choice(for geometry: ConvGeometry, batch: Int, threads: Int) -> ConvolutionAlgorithm? {
        choices.withLock { $0[Key(geometry: geometry, batch: batch, threads: threads)] }
    }

    func record(_ algorithm: ConvolutionAlgorithm, for geometry: ConvGeometry, batch: Int, threads: Int) {
        choices.withLock { $0[Key(geometry: geometry, batch: batch, threads: threads)] = algorithm }
    }
}
