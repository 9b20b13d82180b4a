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
