/// A fixed-size, 64-byte-aligned, zero-initialised block of `Float`s owned by one object.
///
/// Activations, parameters, gradients and optimizer state all live in these flat buffers: no
/// copy-on-write surprises, no per-element bounds checks in kernels, and one allocation per buffer
/// for the life of a workspace.
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer: negative count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
}

/// A growable scratch area: kernels ask for `n` floats and get a pointer that stays valid until the
/// next `reserve`. It only reallocates when a larger request arrives, so steady-state inference and
/// training never allocate.
public final class ScratchBuffer: @unchecked Sendable {
    private var storage = FloatBuffer(count: 0)

    public init() {}

    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if storage.count < count { storage = FloatBuffer(count: count) }
        return storage.pointer
    }

    public var capacity: Int { storage.count }
}
