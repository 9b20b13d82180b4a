import Foundation
import Imaging
import NeuralNet
import Reports

/// Assembles the HTML report's input from a model directory and a labelled image set: history,
/// metrics, every prediction with its image, the embeddings for the PCA and t-SNE maps, and
/// `explanations` test images with what the network saw in them.
public enum ReportBuilder {
    public static func build(modelDirectory: URL, network: Network, images: DecodedImages, threads: Int,
                             note: String, explanations: Int = 4) throws -> (input: ReportInput, evaluation: Evaluation) {
        let evaluation = Evaluation.run(network.inferenceModel(), images: images, threads: threads, withEmbeddings: true)
        let predictions = evaluation.predictions
        var examples: [PredictionExample] = []
        examples.reserveCapacity(images.count)
        for i in 0..<images.count {
            examples.append(PredictionExample(imagePNG: try PNGEncoder.encode(images.images[i]), trueLabel: images.labels[i],
                                              probabilities: Array(predictions.row(i)),
                                              name: (images.paths[i] as NSString).lastPathComponent))
        }
        let input = ReportInput(
            title: "Boundary training report",
            modelName: "\(network.spec.name) (\(modelDirectory.lastPathComponent))",
            createdAt: Date(), labels: network.spec.labels, history: ModelDirectory.history(in: modelDirectory),
            bestEpoch: ModelDirectory.bestEpoch(in: modelDirectory), metrics: evaluation.metrics, predictions: examples,
            embeddings: (0..<predictions.count).map { predictions.embedding($0) }, embeddingLabels: images.labels,
            explanations: try ReportExplanations.panels(network: network, images: images, predictions: predictions,
                                                        count: explanations),
            notes: [note])
        return (input, evaluation)
    }
}
