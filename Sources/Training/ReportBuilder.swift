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
        guard network.spec.isMultiHead else {
            let evaluation = Evaluation.run(network.inferenceModel(), images: images, threads: threads, withEmbeddings: true)
            let examples = try (0..<images.count).map { i in
                PredictionExample(imagePNG: try PNGEncoder.encode(images.images[i]), trueLabel: images.labels[i],
                                  probabilities: Array(evaluation.predictions.row(i)), name: (images.paths[i] as NSString).lastPathComponent)
            }
            let input = try input(modelDirectory: modelDirectory, network: network, images: images, labels: network.spec.labels,
                                  evaluation: evaluation, examples: examples, note: note, explanations: explanations)
            return (input, evaluation)
        }
        // A multi-head model: the classic sections show its first head (its labels are the
        // model's first labels, so its indices need no shifting); "Every head" shows them all.
        let heads = network.spec.outputHeads
        let predictions = Predictions.compute(network.inferenceModel(), images: images, threads: threads, withEmbeddings: true)
        let truth = heads.indices.map(images.labels(forHead:))
        var firstHead = images
        firstHead.labels = truth[0].map { $0 ?? -1 }
        let perHead = HeadEvaluation(predictions: predictions, images: images, heads: heads).heads
        let evaluation = Evaluation(metrics: perHead[0].metrics, predictions: predictions, labels: firstHead.labels)
        let examples = try (0..<images.count).map { i in
            let row = predictions.row(i)
            return PredictionExample(
                imagePNG: try PNGEncoder.encode(images.images[i]), trueLabel: firstHead.labels[i],
                probabilities: Array(row.dropFirst(heads[0].offset).prefix(heads[0].count)),
                name: (images.paths[i] as NSString).lastPathComponent,
                heads: heads.enumerated().map { h, head in
                    HeadOutcome(trueLabel: truth[h][i], probabilities: Array(row.dropFirst(head.offset).prefix(head.count)))
                })
        }
        var input = try input(modelDirectory: modelDirectory, network: network, images: firstHead, labels: heads[0].labels,
                              evaluation: evaluation, examples: examples, note: note, explanations: explanations)
        input.heads = perHead.map { head in
            ReportHead(name: head.name, labels: head.metrics.classNames, metrics: head.metrics)
        }
        return (input, evaluation)
    }

    private static func input(modelDirectory: URL, network: Network, images: DecodedImages, labels: [String],
                              evaluation: Evaluation, examples: [PredictionExample], note: String,
                              explanations: Int) throws -> ReportInput {
        let predictions = evaluation.predictions
        return ReportInput(
            title: "Boundary training report",
            modelName: "\(network.spec.name) (\(modelDirectory.lastPathComponent))",
            createdAt: Date(), labels: labels, history: ModelDirectory.history(in: modelDirectory),
            bestEpoch: ModelDirectory.bestEpoch(in: modelDirectory), metrics: evaluation.metrics, predictions: examples,
            embeddings: (0..<predictions.count).map { predictions.embedding($0) }, embeddingLabels: images.labels,
            explanations: try ReportExplanations.panels(network: network, images: images, predictions: predictions,
                                                        count: explanations),
            notes: [note])
    }
}
