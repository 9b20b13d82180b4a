import ArgumentParser
import BLAS
import Foundation
import Imaging
import NeuralNet
import Training

/// `boundary train DATA_DIR`: train a classifier from a train/val/test folder of class folders.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier from DATA_DIR/{train,val,test}/<class>/*.jpg|png (or the built-in demo set).",
        discussion: """
        --manifest FILE.csv trains a model with several heads instead: a header path[,split],head1,head2,…
        and one row per image with its label for each head (an empty cell: unknown for that head).
        Keeps the checkpoint with the best validation accuracy and stops early when it stops improving.
        Transfer learning: --from MODEL --head-only trains only the final layer on cached embeddings;
        --from MODEL --unfreeze N fine-tunes the last N convolutional blocks and the head.
        """
    )

    @Argument(help: "Dataset root with train/ (and optionally val/ and test/) class folders.")
    var dataDir: String?

    @Flag(help: "Train on the built-in procedural demo dataset instead of a folder.")
    var demo = false

    @Option(help: "A CSV manifest (path[,split],head1,head2,…): train one head per label column.")
    var manifest: String?

    @Option(name: .long, help: "Model architecture: scene-s, resnet18, or a spec JSON file.")
    var spec: String = "scene-s"

    @Option(help: "Output model directory.")
    var out: String = "boundary-model"

    @Option(help: "Start from this model directory (transfer learning / fine-tuning).")
    var from: String?

    @Flag(help: "With --from: train only the classifier head on cached embeddings.")
    var headOnly = false

    @Option(help: "With --from: fine-tune the last N convolutional blocks and the head.")
    var unfreeze: Int?

    @Option var epochs: Int = 10
    @Option var batchSize: Int = 32
    @Option(help: "adamw, sgd or nesterov.") var optimizer: String = "adamw"
    @Option(name: .customLong("lr"), help: "Peak learning rate.") var learningRate: Float?
    @Option var weightDecay: Float = 1e-4
    @Option(help: "cosine or constant.") var schedule: String = "cosine"
    @Option var labelSmoothing: Float = 0
    @Flag(help: "Disable augmentation (random resized crop, flip, colour jitter).") var noAugment = false
    @Option(help: "Stop after this many epochs without a better validation accuracy (0: never).") var patience: Int = 5
    @Option var seed: UInt64 = 0
    @Option(help: "Worker threads for training.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Share of train/ held out for validation when val/ is absent.") var valShare: Double = 0.1

    @Option(help: "Demo dataset: images per class in train (val and test get a fifth each).") var demoPerClass: Int = 500
    @Option(help: "Demo dataset: number of classes.") var demoClasses: Int = 10
    @Option(help: "Demo dataset: class overlap in [0, 1] (how many ambiguous images near the boundary).") var demoOverlap: Double = 0.3

    @Option(help: "Also register the trained model as a new version of NAME in --data-dir.") var register: String?
    @Option(name: [.customLong("data-dir"), .customLong("data-directory")],
            help: "Service data directory for --register (the one `boundary serve --data-dir` uses).")
    var dataDirectory: String?
    @Flag(help: "With --register: keep the current serving version (promote later with `boundary models promote`).")
    var noPromote = false

    func validate() throws {
        if [demo, dataDir != nil, manifest != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give one of DATA_DIR, --demo or --manifest FILE.csv")
        }
        if manifest != nil, headOnly { throw ValidationError("--head-only is not available for multi-head (--manifest) models yet") }
        if headOnly || unfreeze != nil, from == nil { throw ValidationError("--head-only and --unfreeze need --from MODEL") }
        if register != nil, dataDirectory == nil { throw ValidationError("--register needs --data-dir") }
        if epochs < 1 || batchSize < 1 || threads < 1 { throw ValidationError("--epochs, --batch-size and --threads must be positive") }
        guard ["adamw", "sgd", "nesterov"].contains(optimizer) else { throw ValidationError("--optimizer must be adamw, sgd or nesterov") }
        guard ["cosine", "constant"].contains(schedule) else { throw ValidationError("--schedule must be cosine or constant") }
    }

    func run() throws {
        BLAS.threads = 1
        let data = try loadDataset()
        let classes = data.heads.map { heads in heads.map { "\($0.name) \($0.labels.count)" }.joined(separator: ", ") }
            ?? String(data.classNames.count)
        print("classes: \(classes)  train: \(data.train.count)  val: \(data.validation.count)  test: \(data.test.count)  (\(data.source))")
        for skipped in data.skipped { print("skipped \(skipped)") }
        let network = try makeNetwork(data)
        let config = TrainingConfig(
            epochs: epochs, batchSize: batchSize,
            optimizer: optimizer == "adamw" ? .adamW() : .sgd(momentum: 0.9, nesterov: optimizer == "nesterov"),
            learningRate: learningRate ?? (optimizer == "adamw" ? (headOnly ? 1e-2 : 2e-3) : 0.05),
            weightDecay: weightDecay, cosineSchedule: schedule == "cosine", labelSmoothing: labelSmoothing,
            augmentation: noAugment ? nil : AugmentationSpec(), patience: patience > 0 ? patience : nil,
            seed: seed, threads: threads)
        let bar = ProgressBar()
        let result: TrainingResult
        if headOnly {
            print("embedding \(data.train.count + data.validation.count) images with the frozen backbone…")
            let trainEmbeddings = HeadTrainer.embed(network, images: data.train, threads: threads)
            let valEmbeddings = HeadTrainer.embed(network, images: data.validation, threads: threads)
            result = HeadTrainer(network: network, config: config).run(
                train: HeadExamples(embeddings: trainEmbeddings, labels: data.train.labels),
                validation: HeadExamples(embeddings: valEmbeddings, labels: data.validation.labels), progress: bar.update)
        } else {
            if let unfreeze { network.freezeAllBut(lastBlocks: unfreeze) }
            result = try ClassifierTrainer(network: network, config: config).run(
                train: data.train, validation: data.validation, progress: bar.update)
        }
        network.freeze(upTo: 0)
        print("best epoch \(result.bestEpoch)" + (result.bestValidationAccuracy.isNaN ? "" :
              String(format: ": val_acc %.2f%%", result.bestValidationAccuracy * 100))
              + (result.stoppedEarly ? " (stopped early)" : ""))
        let record = TrainingRecord(
            dataSource: data.dataSource, spec: network.spec.name, epochs: epochs, seed: seed, trainImages: data.train.count,
            validationImages: data.validation.count, bestEpoch: result.bestEpoch,
            mode: headOnly ? "head" : (unfreeze.map { "unfreeze-\($0)" } ?? "full"), parent: from,
            validationShare: demo ? nil : valShare)
        var metricsJSON: Data?
        if data.test.count > 0, network.spec.isMultiHead {
            let evaluation = HeadEvaluation.run(network.inferenceModel(), images: data.test, threads: threads)
            for head in evaluation.heads {
                print(String(format: "test accuracy of head %@: %.2f%% on %d images", head.name,
                             head.metrics.accuracy * 100, head.metrics.perClass.map(\.support).reduce(0, +)))
            }
            metricsJSON = try evaluation.json()
        } else if data.test.count > 0 {
            let evaluation = Evaluation.run(network.inferenceModel(), images: data.test, threads: threads)
            print(String(format: "test accuracy: %.2f%% on %d images", evaluation.accuracy * 100, data.test.count))
            metricsJSON = try evaluation.json()
        }
        let outURL = URL(fileURLWithPath: out)
        try ModelDirectory.write(network, to: outURL, history: result.history, metrics: metricsJSON, training: record)
        print("wrote \(outURL.path)")
        if let register, let dataDirectory {
            let registry = ModelRegistry(dataDirectory: URL(fileURLWithPath: dataDirectory))
            let version = try registry.register(modelDirectory: outURL, name: register,
                                                record: VersionRecord(lineage: record.lineage), promote: !noPromote)
            print("registered \(register) version \(version) in \(dataDirectory)"
                  + (noPromote ? " (not serving; promote with `boundary models promote`)" : " (now serving)"))
        }
    }

    func makeNetwork(_ data: LoadedDataset) throws -> Network {
        if let from {
            let network = try ModelDirectory.load(URL(fileURLWithPath: from), threads: threads)
            guard network.spec.labels == data.classNames else {
                throw ValidationError("--from \(from) was trained on classes \(network.spec.labels) but the data has \(data.classNames); fine-tuning keeps the label set")
            }
            return network
        }
        return try Network(spec: try architecture(labels: data.classNames, heads: data.heads), threads: threads, seed: seed)
    }

    /// The --spec architecture with the dataset's labels (and heads, from a manifest).
    func architecture(labels: [String], heads: [HeadSpec]? = nil) throws -> ModelSpec {
        if let builtin = ModelSpec.builtin(spec, labels: labels) { return builtin.relabelled(labels: labels, heads: heads) }
        guard let data = FileManager.default.contents(atPath: spec) else {
            throw ValidationError("--spec \(spec) is neither a built-in (\(ModelSpec.builtinNames.joined(separator: ", "))) nor a readable file")
        }
        return try ModelSpec.decode(data).relabelled(labels: labels, heads: heads)
    }

    func loadDataset() throws -> LoadedDataset {
        if demo {
            let input = try from.map { try ModelDirectory.load(URL(fileURLWithPath: $0)).spec.input }
                ?? architecture(labels: ["placeholder"]).input
            return LoadedDataset.demo(perClass: demoPerClass, classes: demoClasses, overlap: demoOverlap, input: input, seed: seed)
        }
        if let manifest {
            let parsed = try ImageManifest(url: URL(fileURLWithPath: manifest), validationShare: valShare)
            let input = try from.map { try ModelDirectory.load(URL(fileURLWithPath: $0)).spec.input }
                ?? architecture(labels: ["placeholder"]).input
            return LoadedDataset.manifest(parsed, input: input, threads: threads)
        }
        let folder = try ImageFolder(root: URL(fileURLWithPath: dataDir!), validationShare: valShare)
        let input = try from.map { try ModelDirectory.load(URL(fileURLWithPath: $0)).spec.input }
            ?? architecture(labels: folder.classNames).input
        return LoadedDataset.imageFolder(folder, input: input, threads: threads)
    }
}
