import ArgumentParser
import BLAS
import DemoData
import Dispatch
import Foundation
import Imaging
import NeuralNet
import Tensor
import Training

/// `boundary bench training`: the training pipeline end to end on the demo set (decode, augment,
/// load, CNN) and head-only training on cached embeddings.
struct TrainingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training",
        abstract: "scene-s training on 5,000 demo images from disk: epoch time, img/s, share outside the CNN; head-only epochs."
    )

    @Option var threads: Int = 2
    @Option var epochs: Int = 2
    @Option(help: "Training images per class (10 classes).") var perClass: Int = 500

    func run() throws {
        BLAS.threads = 1
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        let demo = DemoDataset(classCount: 10, imageSize: 64, overlap: 0.3, seed: 0)
        try demo.writeImageFolder(to: root, counts: [.train: perClass * 10, .val: perClass * 2]) { rgb, w, h in
            (try JPEGEncoder.encode(RGBImage(width: w, height: h, pixels: rgb)!, quality: 90), "jpg")
        }
        let folder = try ImageFolder(root: root)
        let spec = ModelSpec.sceneS(labels: folder.classNames)
        var t0 = DispatchTime.now().uptimeNanoseconds
        let train = DecodedImages.load(folder.train, input: spec.input, threads: threads)
        let validation = DecodedImages.load(folder.validation, input: spec.input, threads: threads)
        let decodeSeconds = seconds(since: t0)
        report("demo decode \(train.count + validation.count) jpeg 64x64 threads=\(threads)",
               Double(train.count + validation.count) / decodeSeconds, "img/s")

        let network = try Network(spec: spec, threads: threads, seed: 1)
        let config = TrainingConfig(epochs: epochs, batchSize: 32, augmentation: AugmentationSpec(), patience: nil, threads: threads)
        t0 = DispatchTime.now().uptimeNanoseconds
        let result = try ClassifierTrainer(network: network, config: config).run(train: train, validation: validation)
        let trainingWall = seconds(since: t0)
        for record in result.history {
            report("scene-s train epoch \(record.epoch) (\(train.count) images, +val) threads=\(threads)", record.seconds, "s", digits: 2)
        }
        report("scene-s train pipeline threads=\(threads)", Double(train.count * result.history.count) / trainingWall, "img/s")
        // Outside the CNN: waiting for decoded/augmented batches, bookkeeping; inside: training steps
        // and validation inference.
        let inside = result.computeSeconds + result.validationSeconds
        report("scene-s train share outside CNN threads=\(threads)", (1 - inside / trainingWall) * 100, "%")
        report("scene-s train share outside CNN incl. one-time decode threads=\(threads)",
               (1 - inside / (trainingWall + decodeSeconds)) * 100, "%")
        report("scene-s train batch preparation on the loader thread threads=\(threads)",
               result.loaderPreparationSeconds / trainingWall * 100, "% of wall")

        // Head-only: 10,000 cached 128-d embeddings, 10 classes.
        let n = 10_000, e = network.embeddingSize
        var rng = SeededGenerator(seed: 5)
        let labels = (0..<n).map { $0 % 10 }
        var embeddings = [Float](repeating: 0, count: n * e)
        for i in 0..<n { for j in 0..<e { embeddings[i * e + j] = rng.nextNormal() + (j % 10 == labels[i] ? 1.5 : 0) } }
        let head = HeadTrainer(network: network, config: TrainingConfig(epochs: 5, batchSize: 256, patience: nil, threads: threads))
        t0 = DispatchTime.now().uptimeNanoseconds
        let headResult = head.run(train: HeadExamples(embeddings: embeddings, labels: labels))
        report("head-only epoch \(n)x\(e) embeddings", seconds(since: t0) / Double(headResult.history.count), "s", digits: 3)
    }

    private func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
