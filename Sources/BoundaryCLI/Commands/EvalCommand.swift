import ArgumentParser
import BLAS
import Foundation
import Training

/// `boundary eval DATA_DIR --model M`: accuracy, per-class precision/recall/F1, confusion matrix.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on a labelled split: a table, or JSON with --json."
    )

    @OptionGroup var dataset: DatasetOptions
    @Option(help: "Model directory written by `boundary train`.") var model: String
    @Flag(help: "Print the metrics as JSON.") var json = false
    @Option var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        BLAS.threads = 1
        let network = try ModelDirectory.load(URL(fileURLWithPath: model))
        let (images, skipped) = try dataset.images(for: network.spec, threads: threads)
        for file in skipped { FileHandle.standardError.write(Data("skipped \(file)\n".utf8)) }
        if network.spec.isMultiHead {
            let evaluation = HeadEvaluation.run(network.inferenceModel(), images: images, threads: threads)
            if json {
                print(String(decoding: try evaluation.json(), as: UTF8.self))
            } else {
                print("\(network.spec.name) on \(images.count) \(dataset.split) images")
                for head in evaluation.heads { print("\nhead \(head.name)\n" + head.metrics.renderText()) }
            }
            return
        }
        let evaluation = Evaluation.run(network.inferenceModel(), images: images, threads: threads)
        if json {
            print(String(decoding: try evaluation.json(), as: UTF8.self))
        } else {
            print("\(network.spec.name) on \(images.count) \(dataset.split) images")
            print(evaluation.metrics.renderText())
        }
    }
}
