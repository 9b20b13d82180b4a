import Tensor

/// The per-image shape of an activation. Spatial activations are stored [C, N, H, W]; flat ones
/// (after global pooling or flatten) are stored [N, F] with F = `channels`.
public struct ActivationShape: Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var isFlat: Bool

    public static func spatial(_ c: Int, _ h: Int, _ w: Int) -> ActivationShape {
        ActivationShape(channels: c, height: h, width: w, isFlat: false)
    }

    public static func flat(_ features: Int) -> ActivationShape {
        ActivationShape(channels: features, height: 1, width: 1, isFlat: true)
    }

    public var plane: Int { height * width }
    /// Floats per image.
    public var size: Int { channels * height * width }

    public var description: String { isFlat ? "[\(channels)]" : "[\(channels)x\(height)x\(width)]" }
}

/// A batch of activations: a shape, a batch size and the buffer holding them.
public struct Activation {
    public var shape: ActivationShape
    public var batch: Int
    public var buffer: FloatBuffer

    public var pointer: UnsafeMutablePointer<Float> { buffer.pointer }
    public var count: Int { shape.size * batch }
}

/// A buffer a layer keeps between steps and regrows only when the batch grows, so a training loop
/// allocates during its first step and never again.
struct ReusableBuffer {
    private var storage: FloatBuffer?

    mutating func take(_ count: Int) -> FloatBuffer {
        if let storage, storage.count >= count { return storage }
        let fresh = FloatBuffer(count: count)
        storage = fresh
        return fresh
    }
}
