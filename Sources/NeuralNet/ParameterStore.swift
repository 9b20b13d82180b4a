import Tensor

/// Where one named tensor lives inside a flat buffer.
public struct ParameterSlot: Sendable, Hashable {
    public var offset: Int
    public var count: Int
}

/// One named tensor of the network: a trainable parameter or a piece of non-trainable state.
public struct ParameterEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Trained by the optimizer; weight decay applies when `decays`.
        case parameter(decays: Bool)
        /// Saved and loaded but never trained (BatchNorm running statistics).
        case state
    }

    public var name: String
    public var shape: [Int]
    public var kind: Kind
    public var slot: ParameterSlot
}

/// Collects tensor declarations while layers are built, assigning each an offset in one of two
/// flat buffers (parameters or state) in declaration order. Because layers declare in network
/// order, freezing a prefix of layers freezes a prefix of the parameter buffer.
public final class ParameterRegistry {
    private(set) var entries: [ParameterEntry] = []
    private(set) var parameterCount = 0
    private(set) var stateCount = 0

    public init() {}

    func parameter(_ name: String, shape: [Int], decays: Bool) -> ParameterSlot {
        let count = shape.reduce(1, *)
        let slot = ParameterSlot(offset: parameterCount, count: count)
        parameterCount += count
        entries.append(ParameterEntry(name: name, shape: shape, kind: .parameter(decays: decays), slot: slot))
        return slot
    }

    func state(_ name: String, shape: [Int]) -> ParameterSlot {
        let count = shape.reduce(1, *)
        let slot = ParameterSlot(offset: stateCount, count: count)
        stateCount += count
        entries.append(ParameterEntry(name: name, shape: shape, kind: .state, slot: slot))
        return slot
    }
}

/// The network's parameters, their gradients and its non-trainable state, each one flat buffer.
public final class ParameterStore: @unchecked Sendable {
    public let entries: [ParameterEntry]
    public let values: FloatBuffer
    public let gradients: FloatBuffer
    public let state: FloatBuffer

    init(_ registry: ParameterRegistry) {
        entries = registry.entries
        values = FloatBuffer(count: registry.parameterCount)
        gradients = FloatBuffer(count: registry.parameterCount)
        state = FloatBuffer(count: registry.stateCount)
    }

    public var parameterCount: Int { values.count }

    @inline(__always) func value(_ slot: ParameterSlot) -> UnsafeMutablePointer<Float> { values.pointer + slot.offset }
    @inline(__always) func gradient(_ slot: ParameterSlot) -> UnsafeMutablePointer<Float> { gradients.pointer + slot.offset }
    @inline(__always) func stateValue(_ slot: ParameterSlot) -> UnsafeMutablePointer<Float> { state.pointer + slot.offset }

    /// The buffer a given entry lives in.
    public func pointer(for entry: ParameterEntry) -> UnsafeMutablePointer<Float> {
        switch entry.kind {
        case .parameter: values.pointer + entry.slot.offset
        case .state: state.pointer + entry.slot.offset
        }
    }

    public func entry(named name: String) -> ParameterEntry? { entries.first { $0.name == name } }

    /// A copy of one named tensor's values (tests, checkpoints, reports).
    public func values(of name: String) -> [Float]? {
        guard let entry = entry(named: name) else { return nil }
        return Array(UnsafeBufferPointer(start: pointer(for: entry), count: entry.slot.count))
    }
}
