import Foundation
import Imaging
import NeuralNet
import Synchronization
import Training

/// What a reviewer asks when deciding whether an image belongs to a class: why did the model
/// score it so? One image (its bytes, or the id of an image this server predicted), one label
/// (default: the top one), one layer (default: the end of the convolutional stack).
public struct ExplanationRequest: Sendable {
    public enum Image: Sendable {
        case bytes(Data)
        case id(String)
    }

    public var model: String
    public var version: String
    public var image: Image
    /// A label name; empty explains the top-ranked label.
    public var label: String
    /// A layer name ("layers.7"); empty takes the last layer with a spatial output.
    public var layer: String
    /// How many of the layer's feature maps to return, strongest first.
    public var featureMaps: Int

    public init(model: String = "", version: String = "", image: Image, label: String = "", layer: String = "",
                featureMaps: Int = 0) {
        self.model = model
        self.version = version
        self.image = image
        self.label = label
        self.layer = layer
        self.featureMaps = featureMaps
    }
}

/// The answer: a Grad-CAM map scaled to [0, 1], and the strongest feature maps, each with its
/// channel and its own peak (so a client can show them on one scale or each on its own).
public struct Explanation: Sendable {
    public struct Map: Sendable, Equatable {
        public var height: Int
        public var width: Int
        /// Row-major, in [0, 1].
        public var values: [Float]
    }

    public struct Channel: Sendable, Equatable {
        public var channel: Int
        public var meanActivation: Float
        public var peakActivation: Float
        /// The activation divided by its peak (all zero for a channel that stayed at zero).
        public var map: Map
    }

    public var imageID: String
    public var model: String
    public var version: Int
    public var label: String
    public var labelIndex: Int
    public var probability: Float
    public var layer: String
    /// Layers an explanation can be taken at, in order.
    public var layers: [String]
    /// Grad-CAM divided by its peak; all zero when nothing in the layer argues for the label.
    public var heat: Map
    public var featureMaps: [Channel]
    public var seconds: Double

    /// Feature maps one request may ask for.
    public static let maxFeatureMaps = 64
}

/// Explanations on one dedicated thread, beside serving: a backward pass costs a few forward
/// passes, so they are not batched with predictions and cannot starve them. Each (model,
/// version) keeps one trainable network (serving holds only the folded inference form); the two
/// most recent stay loaded. At most `queueLimit` explanations wait; more are refused at once.
public final class Explainer: Sendable {
    private let host: ModelHost
    private let recentImages: RecentImages
    private let limits: ImagingLimits
    private let queueLimit: Int
    private let worker = WorkerPool(name: "boundary-explain", workers: 1)
    private let waiting = Mutex(0)
    private let networks = NetworkCache()

    public init(host: ModelHost, recentImages: RecentImages, limits: ImagingLimits = .default, queueLimit: Int = 8) {
        self.host = host
        self.recentImages = recentImages
        self.limits = limits
        self.queueLimit = queueLimit
    }

    public func shutdown() { worker.shutdown() }

    public func explain(_ request: ExplanationRequest) async throws -> Explanation {
        guard (0...Explanation.maxFeatureMaps).contains(request.featureMaps) else {
            throw ServingError.invalidArgument("feature_maps must be between 0 and \(Explanation.maxFeatureMaps), got \(request.featureMaps)")
        }
        let snapshot = try await host.snapshot(model: request.model, version: try VersionSelector(parsing: request.version))
        let bytes: Data
        switch request.image {
        case .bytes(let data):
            guard !data.isEmpty else { throw ServingError.invalidArgument("give the image's bytes or the image_id of an image this server predicted") }
            bytes = data
        case .id(let id):
            let id = try Predictor.normalizedImageID(id)
            guard let remembered = recentImages.bytes(for: id) else { throw ServingError.unknownImages([id]) }
            bytes = remembered
        }
        let label: Int?
        if request.label.isEmpty {
            label = nil
        } else {
            guard let index = snapshot.labels.firstIndex(of: request.label) else {
                throw ServingError.unknownLabel(request.label, model: snapshot.name, labels: snapshot.labels)
            }
            label = index
        }
        let admitted = waiting.withLock { count -> Bool in
            guard count < queueLimit else { return false }
            count += 1
            return true
        }
        guard admitted else { throw ServingError.overloaded(limit: queueLimit) }
        defer { waiting.withLock { $0 -= 1 } }
        let (registry, limits, networks) = (host.registry, limits, networks)
        return try await worker.run {
            let start = DispatchTime.now().uptimeNanoseconds
            let input = try ImageInput.preprocess(bytes, spec: snapshot.preprocess, limits: limits)
            let network = try networks.network(for: snapshot, registry: registry)
            var explanation = try Self.explain(input, network: network, label: label, layer: request.layer,
                                               featureMaps: request.featureMaps)
            explanation.imageID = Predictor.imageID(of: bytes)
            explanation.model = snapshot.name
            explanation.version = snapshot.version
            explanation.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return explanation
        }
    }

    /// The explanation of one preprocessed image; `label` nil explains the top class.
    static func explain(_ input: [Float], network: Network, label: Int?, layer: String, featureMaps: Int) throws -> Explanation {
        let layerIndex: Int
        do { layerIndex = try network.explainableLayer(named: layer) } catch { throw ServingError.invalidArgument(error.description) }
        let chosen = label ?? input.withUnsafeBufferPointer { x in
            let logits = network.forward(x.baseAddress!, batch: 1, training: false)
            // The primary ranking's top label: a multi-head model's first head.
            return network.spec.outputHeads[0].range.max { logits[$0] < logits[$1] }!
        }
        let cam = try input.withUnsafeBufferPointer { x in
            do { return try network.classActivationMap(image: x.baseAddress!, label: chosen, layer: layerIndex) } catch {
                throw ServingError.invalidArgument(String(describing: error))
            }
        }
        var channels: [Explanation.Channel] = []
        if featureMaps > 0 {
            let maps = input.withUnsafeBufferPointer { network.featureMaps(image: $0.baseAddress!, layer: layerIndex) }
            let plane = maps.height * maps.width
            for channel in maps.channelsByMeanActivation.prefix(featureMaps) {
                let values = Array(maps.values[(channel * plane)..<((channel + 1) * plane)])
                let scaled = Self.scaled(values, height: maps.height, width: maps.width)
                channels.append(Explanation.Channel(channel: channel, meanActivation: values.reduce(0, +) / Float(plane),
                                                    peakActivation: values.max() ?? 0, map: scaled))
            }
        }
        return Explanation(imageID: "", model: "", version: 0, label: network.spec.labels[chosen], labelIndex: chosen,
                           probability: cam.probability, layer: cam.layer, layers: network.spatialLayerNames,
                           heat: Self.scaled(cam.heat, height: cam.height, width: cam.width), featureMaps: channels, seconds: 0)
    }

    /// `values` divided by their largest positive value (negative ones clamp to 0).
    static func scaled(_ values: [Float], height: Int, width: Int) -> Explanation.Map {
        let peak = values.max() ?? 0
        let scaled = peak > 0 ? values.map { max(0, $0 / peak) } : [Float](repeating: 0, count: values.count)
        return Explanation.Map(height: height, width: width, values: scaled)
    }
}

/// The trainable networks explanations run on, by model and version, most recent first. Only
/// the explainer's one worker thread touches it: that is the exclusion `@unchecked` stands for
/// (a network keeps its activations between forward and backward, so it has one user at a time).
private final class NetworkCache: @unchecked Sendable {
    private var entries: [(model: String, version: Int, network: Network)] = []
    private static let capacity = 2

    func network(for snapshot: ModelSnapshot, registry: ModelRegistry) throws -> Network {
        if let hit = entries.first(where: { $0.model == snapshot.name && $0.version == snapshot.version }) {
            return hit.network
        }
        let network: Network
        do {
            network = try ModelDirectory.load(registry.directory(of: snapshot.name, version: snapshot.version))
        } catch {
            throw ServingError.loadFailed(model: snapshot.name, version: snapshot.version, reason: String(describing: error))
        }
        entries.insert((snapshot.name, snapshot.version, network), at: 0)
        if entries.count > Self.capacity { entries.removeLast(entries.count - Self.capacity) }
        return network
    }
}
