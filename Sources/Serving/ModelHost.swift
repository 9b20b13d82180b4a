import Foundation
import Logging
import NeuralNet
import Synchronization
import Training

/// The models being served: for each name, the serving version's snapshot, swapped atomically.
///
/// A lookup copies a reference under a `Mutex` and returns; nothing waits on a load or a forward
/// pass while holding the lock. Loading (disk + weight folding) happens on the maintenance pool
/// before the swap, so a new version replaces the old one in a single pointer store and requests
/// never see a half-loaded model. Versions asked for explicitly are loaded on demand and a few
/// are kept per model.
public final class ModelHost: Sendable {
    public let registry: ModelRegistry
    private let configuration: ServingConfiguration
    private let loader: WorkerPool
    private let metrics: ServingMetrics
    private let logger: Logger
    private let state = Mutex(State())
    /// Kernel timings shared by every version loaded here: only the first version of a shape is timed.
    let tuningCache = ConvolutionTuningCache()
    /// What `--batching auto` measured, per architecture, for the life of the process.
    let batchingProbes = BatchingProbe.Cache()
    private let onChange: @Sendable (_ serving: [String: Int]) -> Void

    struct State {
        var serving: [String: ModelSnapshot] = [:]
        /// Non-serving versions loaded on request, most recently used last.
        var extra: [String: [ModelSnapshot]] = [:]
    }

    /// - Parameter onChange: called after every change of the serving set (model name → version),
    ///   e.g. to flip health to SERVING once the first model is loaded.
    public init(registry: ModelRegistry, configuration: ServingConfiguration, metrics: ServingMetrics,
                logger: Logger, onChange: @escaping @Sendable (_ serving: [String: Int]) -> Void = { _ in }) {
        self.registry = registry
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.onChange = onChange
        loader = WorkerPool(name: "boundary-loader", workers: 1)
    }

    /// Stops the loading thread (after any load in progress).
    public func shutdown() { loader.shutdown() }

    /// The serving snapshot of every model, by name.
    public var serving: [String: ModelSnapshot] { state.withLock { $0.serving } }

    /// The model a request without a name goes to: the configured default, else the only or
    /// alphabetically first model.
    public var defaultModelName: String? {
        let names = state.withLock { $0.serving.keys.sorted() }
        if let preferred = configuration.defaultModel, names.contains(preferred) { return preferred }
        return names.first
    }

    /// The snapshot a request for `model` (empty: the default) at `version` runs on.
    public func snapshot(model: String, version: VersionSelector) async throws -> ModelSnapshot {
        guard let name = model.isEmpty ? defaultModelName : model else { throw ServingError.noModels }
        let (serving, cached) = state.withLock { state in
            (state.serving[name], state.extra[name] ?? [])
        }
        guard let serving else {
            throw ServingError.unknownModel(name, known: state.withLock { $0.serving.keys.sorted() })
        }
        let wanted: Int
        switch version {
        case .serving: return serving
        case .number(let number): wanted = number
        case .latest: wanted = (try? registry.versions(of: name).max()) ?? serving.version
        }
        if wanted == serving.version { return serving }
        if let hit = cached.first(where: { $0.version == wanted }) { return hit }
        let known = (try? registry.versions(of: name)) ?? []
        guard known.contains(wanted) else {
            throw ServingError.unknownVersion(model: name, version: String(wanted), known: known)
        }
        let loaded = try await load(name, version: wanted)
        state.withLock { state in
            var list = (state.extra[name] ?? []).filter { $0.version != wanted }
            list.append(loaded)
            state.extra[name] = Array(list.suffix(configuration.extraVersionsPerModel))
        }
        return loaded
    }

    /// Brings the served set in line with the registry: loads models that appeared and swaps in
    /// versions whose serving pointer changed. A version that fails to load is logged and the
    /// previous one keeps serving. Returns the serving versions afterwards.
    @discardableResult
    public func synchronize() async -> [String: Int] {
        let names: [String]
        do {
            names = try registry.modelNames()
        } catch {
            logger.error("cannot read the model registry", metadata: ["path": "\(registry.root.path)", "error": "\(error)"])
            return servingVersions
        }
        var changed = false
        for name in names {
            guard let version = try? registry.servingVersion(of: name) else { continue }
            let (current, preloaded) = state.withLock { state in
                (state.serving[name]?.version, state.extra[name]?.first { $0.version == version })
            }
            if current == version { continue }
            do {
                // A version already loaded for pinned requests (or by `setServingVersion`) is
                // swapped in as it is rather than loaded a second time.
                let snapshot: ModelSnapshot
                if let preloaded { snapshot = preloaded } else { snapshot = try await load(name, version: version) }
                // Re-read the pointer under the lock: if another swap (a rollback, say) moved it
                // while this version loaded, this stale load must not overwrite that swap.
                let swapped = state.withLock { state -> (done: Bool, previous: ModelSnapshot?) in
                    guard (try? registry.servingVersion(of: name)) == version else { return (false, nil) }
                    let previous = state.serving[name]
                    state.serving[name] = snapshot
                    state.extra[name]?.removeAll { $0.version == version }
                    return (true, previous)
                }
                guard swapped.done else { continue }
                let previous = swapped.previous
                changed = true
                metrics.recordServingVersion(version, of: name)
                var metadata: Logger.Metadata = [
                    "model": "\(name)", "version": "\(version)",
                    "previous": "\(previous.map { String($0.version) } ?? "none")",
                    "batching": "\(snapshot.batchingPays ? "batched" : "each request alone")",
                ]
                if let probe = snapshot.batchingProbe {
                    metadata["batching_probe"] = "\(probe)"
                }
                logger.info("serving model", metadata: metadata)
            } catch {
                logger.error("model version failed to load; keeping the previous one",
                             metadata: ["model": "\(name)", "version": "\(version)", "error": "\(error)"])
            }
        }
        let versions = servingVersions
        if changed { onChange(versions) }
        return versions
    }

    /// Points `name` at `version` on disk and swaps it in before returning (promote or roll back).
    public func setServingVersion(_ version: Int, of name: String) async throws -> ModelSnapshot {
        guard state.withLock({ $0.serving[name] }) != nil else {
            throw ServingError.unknownModel(name, known: state.withLock { $0.serving.keys.sorted() })
        }
        let known = (try? registry.versions(of: name)) ?? []
        guard known.contains(version) else {
            throw ServingError.unknownVersion(model: name, version: String(version), known: known)
        }
        // Load first: a version that cannot load must not become the pointer's target.
        _ = try await snapshot(model: name, version: .number(version))
        try registry.setServingVersion(version, of: name)
        await synchronize()
        return try await snapshot(model: name, version: .serving)
    }

    public var servingVersions: [String: Int] {
        state.withLock { $0.serving.mapValues(\.version) }
    }

    private func load(_ name: String, version: Int) async throws -> ModelSnapshot {
        let registry = registry
        let threshold = configuration.boundaryThreshold
        let batching = configuration.batching
        let tuning = configuration.tuneKernels
            ? ModelSnapshot.Tuning(threads: configuration.inferenceThreads, maxBatch: configuration.maxBatchSize,
                                   cache: tuningCache, batchWindow: configuration.maxBatchDelay, probes: batchingProbes) : nil
        return try await loader.run {
            try ModelSnapshot.load(from: registry, name: name, version: version, defaultBoundaryThreshold: threshold,
                                   tuning: tuning, batching: batching)
        }
    }
}
