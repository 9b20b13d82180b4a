import ArgumentParser
import BLAS
import Foundation
import Training

/// `boundary experiment upsampling`: the original study's experiment on the demo dataset.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Reproducible experiments on the demo dataset.",
        subcommands: [Upsampling.self]
    )

    struct Upsampling: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fine-tuning on simulated lasso feedback with and without boundary upsampling, head-only vs full.")

        @Option(help: "Seeds (independent datasets, base models and pools).") var seeds = 5
        @Option(help: "Feedback rounds.") var rounds = 3
        @Option(help: "Images per class the base model is trained on.") var basePerClass = 30
        @Option(help: "Images reviewed per round.") var pool = 300
        @Option(help: "Upsampling factor U for the ×U conditions.") var upsampling: Float = 4
        @Option(help: "Share of deselected images also corrected in the '+ corrections' conditions (0: none).")
        var corrections = 0.5
        @Option var threads = ProcessInfo.processInfo.activeProcessorCount
        @Option(help: "Markdown file for the table.") var out = "docs/experiment-upsampling.md"

        func run() throws {
            BLAS.threads = 1
            var settings = UpsamplingExperiment.Settings()
            settings.seeds = seeds
            settings.rounds = rounds
            settings.baseImagesPerClass = basePerClass
            settings.poolPerRound = pool
            settings.upsampling = upsampling
            settings.threads = threads
            guard (0...1).contains(corrections) else { throw ValidationError("--corrections must be between 0 and 1") }
            settings.correctionShare = corrections
            let started = Date()
            let experiment = UpsamplingExperiment(settings: settings)
            let results = try experiment.run { print($0) }
            let table = results.markdown(rounds: rounds)
            print(table)
            let command = "boundary experiment upsampling --seeds \(seeds) --rounds \(rounds) --base-per-class \(basePerClass) "
                + "--pool \(pool) --upsampling \(upsampling) --corrections \(corrections) --threads \(threads)"
            let document = """
                # Experiment: boundary upsampling

                `\(command)` (release build, \(String(format: "%.0f", Date().timeIntervalSince(started))) s on \
                \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ISO8601DateFormatter().string(from: Date()))).

                Demo dataset, 10 classes at \(settings.imageSize)×\(settings.imageSize), overlap \(settings.overlap). Each seed: \
                a small CNN trained on \(basePerClass) images per class; then \(rounds) rounds of \(pool) new images each, \
                classified by the current model and reviewed by simulated lasso (per predicted label L: truly-L images kept, \
                the rest deselected as "not L"; in the "+ corrections" conditions \(Int(corrections * 100))% of the deselected \
                images also carry their true label, as a correction). After each round the model is fine-tuned on all feedback so far plus as \
                many replayed base images, with deselected samples weighted ×1 or ×\(upsampling) (the complementary-label \
                loss for "not L"), head-only (\(settings.headEpochs) epochs on cached embeddings) or full \
                (\(settings.fullEpochs) epochs). Test: \(settings.testImages) test images; boundary: the \
                \(results.boundaryImages) of them morphed at least \(settings.boundaryAmbiguity) toward their confusable \
                partner. Mean ± standard deviation over \(seeds) seeds.

                \(table)

                """
            try FileManager.default.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try document.write(toFile: out, atomically: true, encoding: .utf8)
            print("wrote \(out)")
        }
    }
}
