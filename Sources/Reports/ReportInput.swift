import Foundation

/// One epoch of training history.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var valLoss: Double?
    public var valAccuracy: Double?
    public var learningRate: Double
    /// Wall-clock duration of the epoch.
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double,
                valLoss: Double? = nil, valAccuracy: Double? = nil,
                learningRate: Double = 0, seconds: Double = 0) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.valLoss = valLoss
        self.valAccuracy = valAccuracy
        self.learningRate = learningRate
        self.seconds = seconds
    }

    private enum CodingKeys: String, CodingKey {
        case epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, learningRate, seconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        trainLoss = try c.decodeIfPresent(Double.self, forKey: .trainLoss) ?? .nan
        trainAccuracy = try c.decodeIfPresent(Double.self, forKey: .trainAccuracy) ?? .nan
        valLoss = try c.decodeIfPresent(Double.self, forKey: .valLoss)
        valAccuracy = try c.decodeIfPresent(Double.self, forKey: .valAccuracy)
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? 0
        seconds = try c.decodeIfPresent(Double.self, forKey: .seconds) ?? 0
    }
}

/// One test image in the "what the network sees" panel: the image, Grad-CAM for the predicted
/// label blended over it, and the strongest feature maps of a few layers (PNG bytes; base64 in JSON).
public struct ExplanationPanel: Codable, Sendable, Equatable {
    public struct LayerMaps: Codable, Sendable, Equatable {
        public var layer: String
        /// "channels×height×width".
        public var shape: String
        /// The strongest channels, highest mean activation first, each scaled to its own range.
        public var channelPNGs: [Data]

        public init(layer: String, shape: String, channelPNGs: [Data]) {
            self.layer = layer
            self.shape = shape
            self.channelPNGs = channelPNGs
        }
    }

    public var name: String?
    public var imagePNG: Data
    public var overlayPNG: Data
    public var trueLabel: Int
    public var predictedLabel: Int
    public var probability: Float
    /// The layer Grad-CAM was taken at.
    public var camLayer: String
    public var layers: [LayerMaps]

    public init(name: String?, imagePNG: Data, overlayPNG: Data, trueLabel: Int, predictedLabel: Int,
                probability: Float, camLayer: String, layers: [LayerMaps]) {
        self.name = name
        self.imagePNG = imagePNG
        self.overlayPNG = overlayPNG
        self.trueLabel = trueLabel
        self.predictedLabel = predictedLabel
        self.probability = probability
        self.camLayer = camLayer
        self.layers = layers
    }
}

/// One test prediction shown in the best/worst grid.
///
/// `imagePNG` holds raw PNG bytes. In JSON it is encoded as a base64 string; decoding
/// accepts either a base64 string or an array of byte values.
public struct PredictionExample: Codable, Sendable, Equatable {
    public var imagePNG: [UInt8]
    public var trueLabel: Int
    /// Class probabilities (softmax output), indexed by class.
    public var probabilities: [Float]
    /// Optional caption (e.g. file name).
    public var name: String?
    /// A multi-head model's answer per head (in `ReportInput.heads` order); nil otherwise.
    public var heads: [HeadOutcome]?

    public init(imagePNG: [UInt8], trueLabel: Int, probabilities: [Float], name: String? = nil, heads: [HeadOutcome]? = nil) {
        self.imagePNG = imagePNG
        self.trueLabel = trueLabel
        self.probabilities = probabilities
        self.name = name
        self.heads = heads
    }

    /// Index of the highest finite probability (nil if there is none).
    public var predictedLabel: Int? {
        var best: Int?
        var bestP = -Float.infinity
        for (i, p) in probabilities.enumerated() where p.isFinite && p > bestP {
            best = i; bestP = p
        }
        return best
    }

    /// Probability assigned to the true class (0 if out of range / not finite).
    public var trueClassProbability: Float {
        guard trueLabel >= 0, trueLabel < probabilities.count, probabilities[trueLabel].isFinite else { return 0 }
        return probabilities[trueLabel]
    }

    /// Probability of the predicted class (0 if none).
    public var confidence: Float {
        guard let p = predictedLabel else { return 0 }
        return probabilities[p]
    }

    public var isCorrect: Bool { predictedLabel == trueLabel }

    private enum CodingKeys: String, CodingKey { case imagePNG, trueLabel, probabilities, name, heads }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let s = try? c.decode(String.self, forKey: .imagePNG) {
            guard let data = Data(base64Encoded: s, options: .ignoreUnknownCharacters) else {
                throw DecodingError.dataCorruptedError(forKey: .imagePNG, in: c,
                                                       debugDescription: "imagePNG is not valid base64")
            }
            imagePNG = [UInt8](data)
        } else {
            imagePNG = try c.decodeIfPresent([UInt8].self, forKey: .imagePNG) ?? []
        }
        trueLabel = try c.decode(Int.self, forKey: .trueLabel)
        probabilities = try c.decodeIfPresent([Float].self, forKey: .probabilities) ?? []
        name = try c.decodeIfPresent(String.self, forKey: .name)
        heads = try c.decodeIfPresent([HeadOutcome].self, forKey: .heads)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Data(imagePNG).base64EncodedString(), forKey: .imagePNG)
        try c.encode(trueLabel, forKey: .trueLabel)
        try c.encode(probabilities, forKey: .probabilities)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(heads, forKey: .heads)
    }
}

/// One head's answer for one image: its distribution over the head's labels and the truth,
/// when the image has a label for that head.
public struct HeadOutcome: Codable, Sendable, Equatable {
    public var trueLabel: Int?
    public var probabilities: [Float]

    public init(trueLabel: Int?, probabilities: [Float]) {
        self.trueLabel = trueLabel
        self.probabilities = probabilities
    }

    public var predictedLabel: Int { probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0 }
    public var isCorrect: Bool? { trueLabel.map { $0 == predictedLabel } }
    public var trueClassProbability: Float? { trueLabel.map { $0 < probabilities.count ? probabilities[$0] : 0 } }
}

/// A head of a multi-head model, as the report shows it.
public struct ReportHead: Codable, Sendable, Equatable {
    public var name: String
    public var labels: [String]
    /// The head's metrics over the test images labelled for it.
    public var metrics: ClassificationMetrics?

    public init(name: String, labels: [String], metrics: ClassificationMetrics? = nil) {
        self.name = name
        self.labels = labels
        self.metrics = metrics
    }
}

/// Everything the HTML report needs. Codable so the CLI can assemble it from JSON files;
/// every field except `title` may be omitted in JSON (defaults: empty / nil / now).
public struct ReportInput: Codable, Sendable {
    public var title: String
    public var modelName: String
    public var createdAt: Date
    public var labels: [String]
    public var history: [EpochRecord]
    /// Epoch number (as in `EpochRecord.epoch`) of the best checkpoint.
    public var bestEpoch: Int?
    /// Metrics on the test (or validation) set.
    public var metrics: ClassificationMetrics?
    /// Test predictions; the report picks the best and worst ones itself.
    public var predictions: [PredictionExample]
    /// Test embeddings (any width; rows should have equal width).
    public var embeddings: [[Float]]
    /// Class index per embedding row.
    public var embeddingLabels: [Int]
    /// A few test images with what the network saw in them.
    public var explanations: [ExplanationPanel]
    public var notes: [String]
    /// A multi-head model's heads. The other sections then show the first head; "Every head"
    /// shows them all.
    public var heads: [ReportHead] = []

    public init(title: String, modelName: String = "", createdAt: Date = Date(),
                labels: [String] = [], history: [EpochRecord] = [], bestEpoch: Int? = nil,
                metrics: ClassificationMetrics? = nil, predictions: [PredictionExample] = [],
                embeddings: [[Float]] = [], embeddingLabels: [Int] = [], explanations: [ExplanationPanel] = [],
                notes: [String] = []) {
        self.title = title
        self.modelName = modelName
        self.createdAt = createdAt
        self.labels = labels
        self.history = history
        self.bestEpoch = bestEpoch
        self.metrics = metrics
        self.predictions = predictions
        self.embeddings = embeddings
        self.embeddingLabels = embeddingLabels
        self.explanations = explanations
        self.notes = notes
    }

    private enum CodingKeys: String, CodingKey {
        case title, modelName, createdAt, labels, history, bestEpoch, metrics, predictions,
             embeddings, embeddingLabels, explanations, notes, heads
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? "Boundary report"
        modelName = try c.decodeIfPresent(String.self, forKey: .modelName) ?? ""
        createdAt = try c.decodeIfPresent(Date.self, forKey: .createdAt) ?? Date()
        labels = try c.decodeIfPresent([String].self, forKey: .labels) ?? []
        history = try c.decodeIfPresent([EpochRecord].self, forKey: .history) ?? []
        bestEpoch = try c.decodeIfPresent(Int.self, forKey: .bestEpoch)
        metrics = try c.decodeIfPresent(ClassificationMetrics.self, forKey: .metrics)
        predictions = try c.decodeIfPresent([PredictionExample].self, forKey: .predictions) ?? []
        embeddings = try c.decodeIfPresent([[Float]].self, forKey: .embeddings) ?? []
        embeddingLabels = try c.decodeIfPresent([Int].self, forKey: .embeddingLabels) ?? []
        explanations = try c.decodeIfPresent([ExplanationPanel].self, forKey: .explanations) ?? []
        notes = try c.decodeIfPresent([String].self, forKey: .notes) ?? []
        heads = try c.decodeIfPresent([ReportHead].self, forKey: .heads) ?? []
    }

    /// A JSON encoder suited to report files: ISO-8601 dates, sorted keys, and
    /// NaN/±Infinity written as the strings "NaN", "Infinity", "-Infinity"
    /// (plain `JSONEncoder` throws on a NaN loss).
    public static func makeJSONEncoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }

    /// The matching decoder for `makeJSONEncoder()`.
    public static func makeJSONDecoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        d.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return d
    }
}
