import Foundation
import NeuralNet

/// A classification request in domain terms (the gRPC layer maps `PredictRequest` to this).
public struct PredictionRequest: Sendable {
    /// Model name; empty for the default model.
    public var model: String
    /// "", "stable", "latest" or a version number.
    public var version: String
    /// Encoded JPEG or PNG bytes.
    public var image: Data
    /// Ranked labels wanted; 0 means 5. Capped at the class count.
    public var topK: Int
    public var includeEmbedding: Bool

    public init(model: String = "", version: String = "", image: Data, topK: Int = 0, includeEmbedding: Bool = false) {
        self.model = model
        self.version = version
        self.image = image
        self.topK = topK
        self.includeEmbedding = includeEmbedding
    }
}

public struct RankedLabel: Sendable, Equatable {
    public var label: String
    public var index: Int
    public var score: Float
}

public struct Prediction: Sendable {
    /// Lowercase hex SHA-256 of the image bytes: how feedback refers to this image later.
    public var imageID: String
    public var model: String
    public var version: Int
    /// Highest score first. A multi-head model's first head, labels qualified "head:label".
    public var labels: [RankedLabel]
    /// Top-1 minus top-2 probability, over all classes (not only the returned top-k).
    public var margin: Float
    /// `margin` is under the version's boundary threshold.
    public var isBoundary: Bool
    public var embedding: [Float]?
    public var decodeSeconds: Double
    /// Queueing for a batch plus the forward pass.
    public var inferenceSeconds: Double
    /// Requests that shared the forward pass.
    public var batchSize: Int
    /// Multi-head models: every head ranked on its own; empty for a model with one head.
    public var heads: [HeadRanking] = []

    public static let defaultTopK = 5

    /// Ranks a model's output row: for a classic model all of it; for a multi-head one its first
    /// head (with the model's qualified labels, whose indices the first head shares) as the
    /// primary ranking, and every head on its own with its own labels.
    public static func rank(_ probabilities: [Float], spec: ModelSpec, topK: Int, threshold: Float)
        -> (labels: [RankedLabel], margin: Float, isBoundary: Bool, heads: [HeadRanking]) {
        guard spec.isMultiHead else {
            let ranked = rank(probabilities, labels: spec.labels, topK: topK, threshold: threshold)
            return (ranked.labels, ranked.margin, ranked.isBoundary, [])
        }
        let heads = spec.outputHeads.map { head in
            let ranked = rank(Array(probabilities[head.range]), labels: head.labels, topK: topK, threshold: threshold)
            return HeadRanking(head: head.name, labels: ranked.labels, margin: ranked.margin, isBoundary: ranked.isBoundary)
        }
        // The first head starts the label list, so its indices are the model's own.
        let first = heads[0]
        let qualified = first.labels.map { RankedLabel(label: spec.labels[$0.index], index: $0.index, score: $0.score) }
        return (qualified, first.margin, first.isBoundary, heads)
    }

    /// Ranks `probabilities` and derives the margin and boundary flag.
    public static func rank(_ probabilities: [Float], labels: [String], topK: Int, threshold: Float)
        -> (labels: [RankedLabel], margin: Float, isBoundary: Bool) {
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        let wanted = min(topK == 0 ? defaultTopK : topK, probabilities.count)
        let ranked = order.prefix(wanted).map { RankedLabel(label: labels[$0], index: $0, score: probabilities[$0]) }
        let margin = order.count > 1 ? probabilities[order[0]] - probabilities[order[1]] : probabilities[order[0]]
        return (ranked, margin, margin < threshold)
    }
}

/// One head of a multi-head model's prediction: its own labels, ranked, and its own margin.
public struct HeadRanking: Sendable, Equatable {
    public var head: String
    /// The head's labels ("low"), `index` into the head's label list.
    public var labels: [RankedLabel]
    public var margin: Float
    public var isBoundary: Bool
}
