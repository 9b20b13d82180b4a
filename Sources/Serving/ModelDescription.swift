import Foundation
import NeuralNet
import Training

/// What GetModel/ListModels report about a model: the serving snapshot's spec and every kept
/// version's lineage and metrics (read from disk; only the serving version needs to be loaded).
public struct ModelDescription: Sendable {
    public struct Version: Sendable {
        public var version: Int
        public var record: VersionRecord
        public var metrics: [String: Double]
        public var isServing: Bool
    }

    public var name: String
    public var spec: ModelSpec
    public var servingVersion: Int
    public var boundaryThreshold: Float
    public var versions: [Version]
}

extension ModelHost {
    /// Describes `name` (empty: the default model).
    public func describe(model name: String) throws -> ModelDescription {
        guard let resolved = name.isEmpty ? defaultModelName : name else { throw ServingError.noModels }
        guard let snapshot = serving[resolved] else {
            throw ServingError.unknownModel(resolved, known: serving.keys.sorted())
        }
        let versions = ((try? registry.versions(of: resolved)) ?? [snapshot.version]).map { version in
            ModelDescription.Version(
                version: version, record: registry.record(of: resolved, version: version),
                metrics: version == snapshot.version
                    ? snapshot.metrics : ModelSnapshot.readMetrics(in: registry.directory(of: resolved, version: version)),
                isServing: version == snapshot.version)
        }
        return ModelDescription(name: resolved, spec: snapshot.spec, servingVersion: snapshot.version,
                                boundaryThreshold: snapshot.boundaryThreshold, versions: versions)
    }

    /// Describes every served model, by name.
    public func describeAll() throws -> [ModelDescription] {
        try serving.keys.sorted().map { try describe(model: $0) }
    }
}
