import Foundation

/// Everything needed to rebuild a model: input geometry and normalisation, the layer stack and
/// the class labels. Stored as JSON next to every checkpoint.
public struct ModelSpec: Codable, Sendable, Equatable {
    public var name: String
    public var input: InputSpec
    public var layers: [LayerSpec]
    /// Every output's label. With `heads`, each head's labels qualified by its name
    /// ("aperture:low"), in head order: the final dense layer has one output per entry.
    public var labels: [String]
    /// Named heads over one backbone, each a softmax over its own labels (nil: one head over
    /// `labels`). The final dense layer holds them side by side.
    public var heads: [HeadSpec]?

    public init(name: String, input: InputSpec, layers: [LayerSpec], labels: [String]) {
        self.name = name
        self.input = input
        self.layers = layers
        self.labels = labels
    }

    /// A model with several named heads; `labels` becomes their qualified concatenation.
    public init(name: String, input: InputSpec, layers: [LayerSpec], heads: [HeadSpec]) {
        self.init(name: name, input: input, layers: layers, labels: HeadSpec.qualifiedLabels(heads))
        self.heads = heads
    }

    /// Outputs of the final dense layer: every head's labels together.
    public var classCount: Int { labels.count }

    public var isMultiHead: Bool { heads != nil }

    /// The heads with their slice of the output: one unnamed head over `labels` for a classic model.
    public var outputHeads: [OutputHead] {
        guard let heads else { return [OutputHead(name: "", labels: labels, offset: 0)] }
        var offset = 0
        return heads.map { head in
            defer { offset += head.labels.count }
            return OutputHead(name: head.name, labels: head.labels, offset: offset)
        }
    }

    /// The same architecture over other outputs: the heads' layout is kept when `heads` is given.
    public func relabelled(labels: [String], heads: [HeadSpec]?) -> ModelSpec {
        var copy = self
        copy.heads = heads
        copy.labels = heads.map(HeadSpec.qualifiedLabels) ?? labels
        return copy
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> ModelSpec {
        try JSONDecoder().decode(ModelSpec.self, from: data)
    }
}

/// The image the network expects and how raw pixels become its input.
public struct InputSpec: Codable, Sendable, Equatable {
    public enum Resize: String, Codable, Sendable {
        /// Resize the shorter side to the target, then crop the centre.
        case centerCrop
        /// Resize both sides to the target, ignoring aspect ratio.
        case squash
    }

    public var channels: Int
    public var height: Int
    public var width: Int
    public var resize: Resize
    /// Per-channel mean and standard deviation applied to pixels scaled to [0, 1].
    public var mean: [Float]
    public var std: [Float]

    public init(channels: Int = 3, height: Int, width: Int, resize: Resize = .centerCrop,
                mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.resize = resize
        self.mean = mean
        self.std = std
    }
}

/// One entry of the layer stack. JSON form: `{"type": "conv", "out": 32, "kernel": 3, "padding": 1}`.
public enum LayerSpec: Codable, Sendable, Equatable {
    case conv(out: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
    case batchNorm
    case relu
    case maxPool(kernel: Int, stride: Int, padding: Int)
    /// `countPadding`: padding cells count as zeros in every window's mean (ONNX count_include_pad).
    case avgPool(kernel: Int, stride: Int, padding: Int, countPadding: Bool)
    case globalAvgPool
    case flatten
    case dropout(rate: Float)
    /// `out == nil` means one output per class label (the classifier head).
    case dense(out: Int?)
    /// A ResNet basic block with `out` channels; a projection shortcut is added when needed.
    case residual(out: Int, stride: Int)

    private enum CodingKeys: String, CodingKey { case type, out, kernel, stride, padding, bias, rate, countPadding }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "conv":
            let kernel = try c.decode(Int.self, forKey: .kernel)
            self = .conv(out: try c.decode(Int.self, forKey: .out), kernel: kernel,
                         stride: try c.decodeIfPresent(Int.self, forKey: .stride) ?? 1,
                         padding: try c.decodeIfPresent(Int.self, forKey: .padding) ?? kernel / 2,
                         bias: try c.decodeIfPresent(Bool.self, forKey: .bias) ?? false)
        case "batchNorm": self = .batchNorm
        case "relu": self = .relu
        case "maxPool":
            let kernel = try c.decode(Int.self, forKey: .kernel)
            self = .maxPool(kernel: kernel, stride: try c.decodeIfPresent(Int.self, forKey: .stride) ?? kernel,
                            padding: try c.decodeIfPresent(Int.self, forKey: .padding) ?? 0)
        case "avgPool":
            let kernel = try c.decode(Int.self, forKey: .kernel)
            self = .avgPool(kernel: kernel, stride: try c.decodeIfPresent(Int.self, forKey: .stride) ?? kernel,
                            padding: try c.decodeIfPresent(Int.self, forKey: .padding) ?? 0,
                            countPadding: try c.decodeIfPresent(Bool.self, forKey: .countPadding) ?? false)
        case "globalAvgPool": self = .globalAvgPool
        case "flatten": self = .flatten
        case "dropout": self = .dropout(rate: try c.decode(Float.self, forKey: .rate))
        case "dense": self = .dense(out: try c.decodeIfPresent(Int.self, forKey: .out))
        case "residual":
            self = .residual(out: try c.decode(Int.self, forKey: .out),
                             stride: try c.decodeIfPresent(Int.self, forKey: .stride) ?? 1)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c,
                debugDescription: "unknown layer type '\(type)'; expected conv, batchNorm, relu, maxPool, avgPool, globalAvgPool, flatten, dropout, dense or residual")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .conv(let out, let kernel, let stride, let padding, let bias):
            try c.encode("conv", forKey: .type)
            try c.encode(out, forKey: .out)
            try c.encode(kernel, forKey: .kernel)
            try c.encode(stride, forKey: .stride)
            try c.encode(padding, forKey: .padding)
            try c.encode(bias, forKey: .bias)
        case .batchNorm: try c.encode("batchNorm", forKey: .type)
        case .relu: try c.encode("relu", forKey: .type)
        case .maxPool(let kernel, let stride, let padding):
            try c.encode("maxPool", forKey: .type)
            try c.encode(kernel, forKey: .kernel)
            try c.encode(stride, forKey: .stride)
            try c.encode(padding, forKey: .padding)
        case .avgPool(let kernel, let stride, let padding, let countPadding):
            try c.encode("avgPool", forKey: .type)
            try c.encode(kernel, forKey: .kernel)
            try c.encode(stride, forKey: .stride)
            try c.encode(padding, forKey: .padding)
            try c.encode(countPadding, forKey: .countPadding)
        case .globalAvgPool: try c.encode("globalAvgPool", forKey: .type)
        case .flatten: try c.encode("flatten", forKey: .type)
        case .dropout(let rate):
            try c.encode("dropout", forKey: .type)
            try c.encode(rate, forKey: .rate)
        case .dense(let out):
            try c.encode("dense", forKey: .type)
            try c.encodeIfPresent(out, forKey: .out)
        case .residual(let out, let stride):
            try c.encode("residual", forKey: .type)
            try c.encode(out, forKey: .out)
            try c.encode(stride, forKey: .stride)
        }
    }
}

extension ModelSpec {
    /// Names accepted by `builtin(_:labels:)`.
    public static let builtinNames = ["scene-s", "resnet18"]

    /// A built-in architecture with the given class labels.
    public static func builtin(_ name: String, labels: [String]) -> ModelSpec? {
        switch name {
        case "scene-s": sceneS(labels: labels)
        case "resnet18": resnet18(labels: labels)
        default: nil
        }
    }

    /// scene-s: a small VGG-style network for 64×64 images (3 stages of two 3×3 conv+BN+ReLU).
    public static func sceneS(labels: [String]) -> ModelSpec {
        func block(_ c: Int) -> [LayerSpec] { [.conv(out: c, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu] }
        let layers = block(32) + block(32) + [.maxPool(kernel: 2, stride: 2, padding: 0)]
            + block(64) + block(64) + [.maxPool(kernel: 2, stride: 2, padding: 0)]
            + block(128) + block(128) + [.globalAvgPool, .dense(out: nil)]
        return ModelSpec(name: "scene-s", input: InputSpec(height: 64, width: 64), layers: layers, labels: labels)
    }

    /// resnet18: the standard ImageNet topology (He et al. 2016) at 3×224×224.
    public static func resnet18(labels: [String]) -> ModelSpec {
        var layers: [LayerSpec] = [.conv(out: 64, kernel: 7, stride: 2, padding: 3, bias: false), .batchNorm, .relu,
                                   .maxPool(kernel: 3, stride: 2, padding: 1)]
        for (stage, channels) in [64, 128, 256, 512].enumerated() {
            layers.append(.residual(out: channels, stride: stage == 0 ? 1 : 2))
            layers.append(.residual(out: channels, stride: 1))
        }
        layers += [.globalAvgPool, .dense(out: nil)]
        return ModelSpec(name: "resnet18", input: InputSpec(height: 224, width: 224), layers: layers, labels: labels)
    }
}
