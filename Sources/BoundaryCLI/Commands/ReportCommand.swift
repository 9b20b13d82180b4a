import ArgumentParser
import BLAS
import Foundation
import Imaging
import Reports
import Training

/// `boundary report`: one self-contained HTML file with the training curves, the confusion
/// matrix, the best and worst predictions and a PCA map of the embeddings.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (curves, confusion matrix, best/worst predictions, embedding map)."
    )

    @OptionGroup var dataset: DatasetOptions
    @Option(help: "Model directory written by `boundary train`.") var model: String
    @Option(help: "Output HTML file.") var out: String = "report.html"
    @Option var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        BLAS.threads = 1
        let modelURL = URL(fileURLWithPath: model)
        let network = try ModelDirectory.load(modelURL)
        let (images, _) = try dataset.images(for: network.spec, threads: threads)
        let evaluation = Evaluation.run(network.inferenceModel(), images: images, threads: threads, withEmbeddings: true)
        let predictions = evaluation.predictions
        var examples: [PredictionExample] = []
        for i in 0..<images.count {
            let png = try PNGEncoder.encode(images.images[i])
            examples.append(PredictionExample(imagePNG: png, trueLabel: images.labels[i],
                                              probabilities: Array(predictions.row(i)),
                                              name: (images.paths[i] as NSString).lastPathComponent))
        }
        let history = ModelDirectory.history(in: modelURL)
        let input = ReportInput(
            title: "Boundary training report", modelName: "\(network.spec.name) (\(modelURL.lastPathComponent))",
            createdAt: Date(), labels: network.spec.labels, history: history,
            bestEpoch: ModelDirectory.bestEpoch(in: modelURL), metrics: evaluation.metrics, predictions: examples,
            embeddings: (0..<predictions.count).map { predictions.embedding($0) }, embeddingLabels: images.labels,
            notes: ["Evaluated on \(images.count) \(dataset.split) images" + (dataset.demo ? " of the built-in demo dataset." : " from \(dataset.dataDir!).")])
        try Data(HTMLReport.render(input).utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        print("wrote \(out) (accuracy \(String(format: "%.2f%%", evaluation.accuracy * 100)) on \(images.count) images)")
    }
}
