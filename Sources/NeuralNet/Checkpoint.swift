import Foundation
import SafeTensors

/// Errors for checkpoints that are readable safetensors but don't describe this network.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case missingSpec(path: String)
    case invalidSpec(path: String, reason: String)
    case unexpectedTensors(path: String, names: [String])
    case tensorMismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingSpec(let path):
            "checkpoint \(path) has no model spec in its metadata; pass the spec explicitly or re-save it with boundary"
        case .invalidSpec(let path, let reason):
            "checkpoint \(path) carries a model spec that cannot be used: \(reason)"
        case .unexpectedTensors(let path, let names):
            "checkpoint \(path) has tensors the model spec does not declare: \(names.sorted().joined(separator: ", "))"
        case .tensorMismatch(let path, let reason):
            "checkpoint \(path) does not match the model spec: \(reason)"
        }
    }
}

/// Checkpoints are safetensors files: every parameter and BatchNorm statistic under its
/// PyTorch-style name (`layers.0.weight`, `layers.1.running_mean`), with the model spec as JSON in
/// the metadata, so one file is enough to rebuild the network and NumPy/PyTorch can read it.
extension Network {
    static let specMetadataKey = "boundary.spec"
    static let formatMetadataKey = "format"

    /// Every named tensor with its current values.
    public func archive() throws -> SafeTensorsArchive {
        var tensors: [String: SafeTensor] = [:]
        for entry in parameters.entries {
            let values = Array(UnsafeBufferPointer(start: parameters.pointer(for: entry), count: entry.slot.count))
            tensors[entry.name] = SafeTensor(shape: entry.shape, values: values)
        }
        let spec = String(decoding: try self.spec.jsonData(), as: UTF8.self)
        return SafeTensorsArchive(tensors: tensors, metadata: [
            Network.formatMetadataKey: "pt", Network.specMetadataKey: spec,
        ])
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename, fsync directory).
    public func save(to url: URL) throws {
        try archive().write(to: url)
    }

    /// Overwrites this network's tensors with the archive's, after checking that every declared
    /// tensor is present with the right shape and nothing else is there. All-or-nothing: on error
    /// the network is unchanged.
    public func load(_ archive: SafeTensorsArchive, path: String = "<memory>") throws {
        let declared = Set(parameters.entries.map(\.name))
        let extra = archive.tensors.keys.filter { !declared.contains($0) }
        guard extra.isEmpty else { throw CheckpointError.unexpectedTensors(path: path, names: extra) }
        var checked: [(ParameterEntry, SafeTensor)] = []
        for entry in parameters.entries {
            do {
                checked.append((entry, try archive.require(entry.name, shape: entry.shape)))
            } catch {
                throw CheckpointError.tensorMismatch(path: path, reason: "\(error)")
            }
        }
        for (entry, tensor) in checked {
            tensor.values.withUnsafeBufferPointer {
                parameters.pointer(for: entry).update(from: $0.baseAddress!, count: entry.slot.count)
            }
        }
    }

    /// Rebuilds a network from a checkpoint file: spec from its metadata, then every tensor.
    public convenience init(contentsOf url: URL, threads: Int = 1) throws {
        let archive = try SafeTensorsArchive(contentsOf: url)
        guard let json = archive.metadata[Network.specMetadataKey] else {
            throw CheckpointError.missingSpec(path: url.path)
        }
        let spec: ModelSpec
        do {
            spec = try ModelSpec.decode(Data(json.utf8))
        } catch {
            throw CheckpointError.invalidSpec(path: url.path, reason: "\(error)")
        }
        do {
            try self.init(spec: spec, threads: threads)
        } catch {
            throw CheckpointError.invalidSpec(path: url.path, reason: "\(error)")
        }
        try load(archive, path: url.path)
    }
}
