import Foundation
import ONNXFormat
import SafeTensors

/// The constant tensors of an ONNX graph (initializers and `Constant` nodes), decoded once: float32
/// weights and int64 shapes, from `raw_data` (little-endian) or the typed fields.
struct ONNXTensors {
    struct Tensor {
        var dims: [Int]
        var floats: [Float]
        var ints: [Int64]
        var count: Int { dims.reduce(1, *) }
    }

    private(set) var byName: [String: Tensor] = [:]

    init(graph: Onnx_GraphProto, externalData directory: URL? = nil) throws(ImportError) {
        for initializer in graph.initializer {
            var proto = initializer
            if proto.dataLocation == .external { proto = try Self.loadExternal(proto, from: directory) }
            byName[initializer.name] = try Self.decode(proto, owner: "initializer")
        }
        for node in graph.node {
            switch node.opType {
            case "Constant":
                guard let value = node.attribute.first(where: { $0.name == "value" }), value.hasT else {
                    throw .unsupportedNode(node: node.name, op: "Constant", reason: "only a tensor 'value' is supported")
                }
                for output in node.output { byName[output] = try Self.decode(value.t, owner: "node '\(node.name)'") }
            case "Identity":
                // PyTorch's exporter passes weights shared between layers through Identity nodes.
                if let input = node.input.first, let constant = byName[input], let output = node.output.first {
                    byName[output] = constant
                }
            default:
                break
            }
        }
    }

    subscript(name: String) -> Tensor? { byName[name] }

    /// `proto` with its bytes read from the external data file its `location` names (relative to
    /// `directory`, and inside it: a model file must not read arbitrary files), at `offset` for
    /// `length` bytes (the rest of the file when absent), as `raw_data`.
    static func loadExternal(_ proto: Onnx_TensorProto, from directory: URL?) throws(ImportError) -> Onnx_TensorProto {
        let entries = Dictionary(proto.externalData.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        guard let location = entries["location"], !location.isEmpty else {
            throw .malformed("initializer '\(proto.name)' is external but names no location")
        }
        guard let directory else {
            throw .unsupportedGraph("initializer '\(proto.name)' keeps its data in '\(location)': import the model from its file, "
                                    + "with that file beside it")
        }
        let base = directory.standardizedFileURL.resolvingSymlinksInPath()
        let file = base.appendingPathComponent(location).standardizedFileURL.resolvingSymlinksInPath()
        guard !location.hasPrefix("/"), file.path.hasPrefix(base.path + "/") else {
            throw .malformed("initializer '\(proto.name)': external data location '\(location)' is outside the model's folder")
        }
        let offset = Int64(entries["offset"] ?? "0"), length = entries["length"].map { Int64($0) }
        guard let offset, offset >= 0, length.map({ ($0 ?? -1) >= 0 }) ?? true else {
            throw .malformed("initializer '\(proto.name)': external data offset and length must be whole numbers ≥ 0")
        }
        let bytes: Data
        do {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            let wanted = (length ?? nil).map(UInt64.init) ?? (size >= UInt64(offset) ? size - UInt64(offset) : 0)
            guard UInt64(offset) <= size, wanted <= size - UInt64(offset) else {
                throw ImportError.malformed("initializer '\(proto.name)': \(location) has \(size) bytes; the tensor wants "
                                            + "\(wanted) at offset \(offset)")
            }
            try handle.seek(toOffset: UInt64(offset))
            bytes = try handle.read(upToCount: Int(wanted)) ?? Data()
        } catch let error as ImportError {
            throw error
        } catch {
            throw .malformed("initializer '\(proto.name)': cannot read \(location) (beside the model): \(error.localizedDescription)")
        }
        var loaded = proto
        loaded.dataLocation = .default
        loaded.externalData = []
        loaded.rawData = bytes
        return loaded
    }

    static func decode(_ proto: Onnx_TensorProto, owner: String) throws(ImportError) -> Tensor {
        let dims = proto.dims.map(Int.init)
        if proto.dataLocation == .external {
            throw .unsupportedGraph("\(owner) '\(proto.name)' keeps its data in an external file, which is only read for initializers of a model opened from a file")
        }
        let count = dims.reduce(1, *)
        switch Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) {
        case .float:
            let floats: [Float]
            if !proto.rawData.isEmpty {
                guard proto.rawData.count == count * 4 else { throw .malformed("\(owner) '\(proto.name)': \(proto.rawData.count) bytes for \(count) floats") }
                floats = proto.rawData.withUnsafeBytes { LittleEndianFloat32.floats($0) }
            } else {
                floats = proto.floatData
            }
            guard floats.count == count else { throw .malformed("\(owner) '\(proto.name)': \(floats.count) values for shape \(dims)") }
            return Tensor(dims: dims, floats: floats, ints: [])
        case .int64:
            let ints: [Int64]
            if !proto.rawData.isEmpty {
                guard proto.rawData.count == count * 8 else { throw .malformed("\(owner) '\(proto.name)': \(proto.rawData.count) bytes for \(count) int64s") }
                ints = proto.rawData.withUnsafeBytes { raw in
                    (0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
                }
            } else {
                ints = proto.int64Data
            }
            guard ints.count == count else { throw .malformed("\(owner) '\(proto.name)': \(ints.count) values for shape \(dims)") }
            return Tensor(dims: dims, floats: [], ints: ints)
        default:
            throw .unsupportedGraph("\(owner) '\(proto.name)' has element type \(proto.dataType); weights must be float32 (shapes int64)")
        }
    }
}

/// Attribute lookup on a node, with the node named in every error.
struct NodeAttributes {
    let node: Onnx_NodeProto

    func int(_ name: String, default value: Int) -> Int {
        node.attribute.first { $0.name == name }.map { Int($0.i) } ?? value
    }

    func float(_ name: String, default value: Float) -> Float {
        node.attribute.first { $0.name == name }.map(\.f) ?? value
    }

    func ints(_ name: String) -> [Int]? {
        node.attribute.first { $0.name == name }.map { $0.ints.map(Int.init) }
    }

    func string(_ name: String) -> String? {
        node.attribute.first { $0.name == name }.map { String(decoding: $0.s, as: UTF8.self) }
    }
}
