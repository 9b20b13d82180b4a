import Foundation
import Imaging
import NeuralNet
import Tensor
import Training

/// A two-head world for multi-head tests: 16×16 images whose *pattern* (horizontal bars,
/// vertical bars, a centre square) and *tone* (dark, light) are independent, a CSV manifest of
/// them on disk, and a tiny model trained on it, registered as "heads".
public enum MultiHeadFixtures {
    public static let heads = [HeadSpec(name: "pattern", labels: ["bars-h", "bars-v", "square"]),
                               HeadSpec(name: "tone", labels: ["dark", "light"])]
    public static let spec = Fixtures.tinySpec(labels: []).relabelled(labels: [], heads: heads)

    /// Image `index` of a split: pattern index % 3, tone (index / 3) % 2, noise from the seed.
    public static func image(_ index: Int, seed: UInt64) -> (image: RGBImage, pattern: Int, tone: Int) {
        let pattern = index % 3, tone = (index / 3) % 2
        var rng = SeededGenerator(seed: seed &+ UInt64(index) &* 7919)
        let phase = Int(rng.next() % 4)
        var pixels = [UInt8](repeating: 0, count: 16 * 16 * 3)
        for y in 0..<16 {
            for x in 0..<16 {
                let on = switch pattern {
                case 0: (y + phase) / 2 % 2 == 0
                case 1: (x + phase) / 2 % 2 == 0
                default: abs(x - 8) < 4 && abs(y - 8) < 4
                }
                let value = Float(on ? 200 : 60) * (tone == 0 ? 0.4 : 1) + Float(rng.next() % 24)
                for c in 0..<3 { pixels[(y * 16 + x) * 3 + c] = UInt8(min(value, 255)) }
            }
        }
        return (RGBImage(width: 16, height: 16, pixels: pixels)!, pattern, tone)
    }

    public static func png(_ index: Int, seed: UInt64) throws -> Data {
        Data(try PNGEncoder.encode(image(index, seed: seed).image))
    }

    /// `count` images decoded in memory with their per-head labels.
    public static func decoded(count: Int, seed: UInt64) -> DecodedImages {
        var images = DecodedImages()
        for i in 0..<count {
            let (image, pattern, tone) = image(i, seed: seed)
            images.images.append(image)
            images.labels.append(-1)
            images.headLabels.append([pattern, tone])
            images.paths.append("\(seed)/\(i)")
        }
        return images
    }

    /// Writes `root/images/*.png` and `root/manifest.csv` (train and val rows).
    public static func writeManifest(at root: URL, train: Int, validation: Int) throws -> URL {
        let folder = root.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var lines = ["path,split,pattern,tone"]
        for (split, count, seed) in [("train", train, UInt64(1)), ("val", validation, UInt64(2))] {
            for i in 0..<count {
                let (image, pattern, tone) = image(i, seed: seed)
                let name = "\(split)-\(i).png"
                try Data(try PNGEncoder.encode(image)).write(to: folder.appendingPathComponent(name))
                lines.append("images/\(name),\(split),\(heads[0].labels[pattern]),\(heads[1].labels[tone])")
            }
        }
        let manifest = root.appendingPathComponent("manifest.csv")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: manifest)
        return manifest
    }

    /// A data directory serving "heads" version 1: the tiny two-head model trained on a manifest
    /// that training.json names (so retrains replay it and judge every head on its val rows).
    /// With `blankHead`, that head's weights are zeroed after training, as a head added to a
    /// trained backbone would start: it answers its first label for everything, so lasso
    /// feedback on it has mistakes to correct.
    public static func dataDirectory(epochs: Int = 6, blankHead: String? = nil) throws -> URL {
        let root = try Fixtures.temporaryDirectory()
        let manifest = try ImageManifest(url: try writeManifest(at: root, train: 90, validation: 60))
        let data = LoadedDataset.manifest(manifest, input: spec.input, threads: 2)
        let network = try Network(spec: spec, threads: 2, seed: 5)
        _ = try ClassifierTrainer(network: network, config: TrainingConfig(
            epochs: epochs, batchSize: 15, learningRate: 1e-2, augmentation: nil, patience: nil, seed: 2, threads: 2))
            .run(train: data.train, validation: data.validation)
        if let blank = network.spec.outputHeads.first(where: { $0.name == blankHead }) {
            let last = "layers.\(network.spec.layers.count - 1)"
            let weight = network.parameters.entry(named: "\(last).weight")!, bias = network.parameters.entry(named: "\(last).bias")!
            let e = network.embeddingSize
            (network.parameters.pointer(for: weight) + blank.offset * e).update(repeating: 0, count: blank.count * e)
            (network.parameters.pointer(for: bias) + blank.offset).update(repeating: 0, count: blank.count)
        }
        let directory = root.appendingPathComponent("heads-model")
        try ModelDirectory.write(network, to: directory, training: TrainingRecord(dataSource: data.dataSource))
        let registry = root.appendingPathComponent("data")
        try ModelRegistry(dataDirectory: registry).register(modelDirectory: directory, name: "heads")
        return registry
    }
}
