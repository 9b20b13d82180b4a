import Foundation
import NeuralNet
import Reports

/// A model's metrics on a labelled image set: accuracy, per-class precision/recall/F1 and the
/// confusion matrix (the numbers `boundary eval` prints and `metrics.json` stores).
public struct Evaluation: Sendable {
    public let metrics: ClassificationMetrics
    public let predictions: Predictions
    public let labels: [Int]

    public var accuracy: Double { metrics.accuracy }

    public static func run(_ model: InferenceModel, images: DecodedImages, threads: Int,
                           withEmbeddings: Bool = false) -> Evaluation {
        let predictions = Predictions.compute(model, images: images, threads: threads, withEmbeddings: withEmbeddings)
        let predicted = (0..<predictions.count).map { predictions.predictedLabel($0) }
        return Evaluation(metrics: ClassificationMetrics(trueLabels: images.labels, predictedLabels: predicted,
                                                         classNames: model.spec.labels),
                          predictions: predictions, labels: images.labels)
    }

    public func json() throws -> Data {
        let encoder = ReportInput.makeJSONEncoder(pretty: true)
        return try encoder.encode(metrics)
    }
}

/// A multi-head model's metrics: one classification report per head, each over the images
/// labelled for that head (what `boundary train --manifest` prints and stores in metrics.json).
public struct HeadEvaluation: Sendable, Encodable {
    public struct Head: Sendable {
        public let name: String
        public let metrics: ClassificationMetrics
    }

    public let heads: [Head]
    public let predictions: Predictions

    /// The mean of the heads' accuracies.
    public var accuracy: Double { heads.map(\.metrics.accuracy).reduce(0, +) / Double(max(heads.count, 1)) }

    public static func run(_ model: InferenceModel, images: DecodedImages, threads: Int) -> HeadEvaluation {
        HeadEvaluation(predictions: Predictions.compute(model, images: images, threads: threads), images: images, heads: model.heads)
    }

    /// Scores predictions already made over `images`.
    public init(predictions: Predictions, images: DecodedImages, heads: [OutputHead]) {
        self.predictions = predictions
        self.heads = heads.enumerated().map { h, head in
            let labelled = images.labels(forHead: h).enumerated().compactMap { i, label in label.map { (i, $0) } }
            return Head(name: head.name, metrics: ClassificationMetrics(
                trueLabels: labelled.map(\.1), predictedLabels: labelled.map { predictions.predictedLabel($0.0, head: head) },
                classNames: head.labels))
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// `accuracy` (the mean), `<head>_accuracy` for each head (serving lists both among a
    /// version's metrics), and `heads`: each head's full report.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(accuracy, forKey: Key("accuracy"))
        var reports = container.nestedContainer(keyedBy: Key.self, forKey: Key("heads"))
        for head in heads {
            try container.encode(head.metrics.accuracy, forKey: Key("\(head.name)_accuracy"))
            try reports.encode(head.metrics, forKey: Key(head.name))
        }
    }

    public func json() throws -> Data { try ReportInput.makeJSONEncoder(pretty: true).encode(self) }
}
