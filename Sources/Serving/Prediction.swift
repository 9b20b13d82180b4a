import Foundation

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
    /// Highest score first.
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

    public static let defaultTopK = 5

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
