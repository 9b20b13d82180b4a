import ArgumentParser
import BLAS
import Foundation
import Reports
import Training

/// `boundary report`: one self-contained HTML file with the training curves, the confusion
/// matrix, the best and worst predictions, PCA and t-SNE maps of the embeddings, and what the
/// network sees in a few test images (Grad-CAM and feature maps).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (curves, confusion matrix, best/worst predictions, embedding maps, explanations)."
    )

    @OptionGroup var dataset: DatasetOptions
    @Option(help: "Model directory written by `boundary train`.") var model: String
    @Option(help: "Output HTML file.") var out: String = "report.html"
    @Option var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Most points on the t-SNE map (0: none; 1,000 take about 2 s, 5,000 about 12–15 s).")
    var tsnePoints: Int = HTMLReport.Options().maxTSNEPoints
    @Option(help: "Test images shown with Grad-CAM and feature maps (0: none).")
    var explain: Int = 4

    func validate() throws {
        guard tsnePoints >= 0 else { throw ValidationError("--tsne-points must be 0 or more, got \(tsnePoints)") }
        guard (0...64).contains(explain) else { throw ValidationError("--explain must be between 0 and 64, got \(explain)") }
    }

    func run() throws {
        BLAS.threads = 1
        let modelURL = URL(fileURLWithPath: model)
        let network = try ModelDirectory.load(modelURL)
        let (images, _) = try dataset.images(for: network.spec, threads: threads)
        let note = "Evaluated on \(images.count) \(dataset.split) images"
            + (dataset.demo ? " of the built-in demo dataset." : " from \(dataset.manifest ?? dataset.dataDir!).")
        let (input, evaluation) = try ReportBuilder.build(modelDirectory: modelURL, network: network, images: images,
                                                          threads: threads, note: note, explanations: explain)
        try Data(HTMLReport.render(input, options: HTMLReport.Options(maxTSNEPoints: tsnePoints)).utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        let accuracies = input.heads.isEmpty ? String(format: "accuracy %.2f%%", evaluation.accuracy * 100)
            : input.heads.map { String(format: "%@ %.2f%%", $0.name, ($0.metrics?.accuracy ?? 0) * 100) }.joined(separator: ", ")
        print("wrote \(out) (\(accuracies) on \(images.count) images)")
    }
}
