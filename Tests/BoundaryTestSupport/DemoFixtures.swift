import DemoData
import Foundation
import Imaging
import NeuralNet
import Training

/// A tiny model pre-trained on a 4-class, 16×16 version of the demo dataset, registered with a
/// training.json naming that dataset (so retrains replay it and judge candidates on its
/// validation split), plus demo images with their true labels for simulated lasso feedback.
public enum DemoFixtures {
    public static let dataset = DemoDataset(classCount: 4, imageSize: 16, overlap: 0.5, seed: 3)
    public static var labels: [String] { dataset.classNames }

    public static func png(_ sample: DemoDataset.Sample, split: DemoDataset.Split = .test) throws -> Data {
        let image = RGBImage(width: dataset.imageSize, height: dataset.imageSize, pixels: dataset.render(sample, split: split))!
        return Data(try PNGEncoder.encode(image))
    }

    /// Demo images `indices` of `split`, preprocessed for the tiny model, with their true labels.
    public static func inputs(_ split: DemoDataset.Split, _ indices: Range<Int>) throws -> [LabelledInput] {
        let spec = PreprocessSpec(try Fixtures.tinySpec(labels: labels).input)
        return try indices.map { index in
            let sample = dataset.sample(split, index: index)
            let image = RGBImage(width: 16, height: 16, pixels: dataset.render(sample, split: split))!
            var input = [Float](repeating: 0, count: spec.floatsPerImage)
            try input.withUnsafeMutableBufferPointer { try Preprocessor.preprocess(image, spec: spec, into: $0.baseAddress!) }
            return LabelledInput(input: input, target: .label(sample.label), isBoundary: false)
        }
    }

    /// A data directory serving model "demo" version 1: trained `epochs` passes over 400 images.
    public static func dataDirectory(epochs: Int = 3) throws -> URL {
        let root = try Fixtures.temporaryDirectory()
        let network = try Network(spec: Fixtures.tinySpec(labels: labels), seed: 11)
        let spec = PreprocessSpec(network.spec.input)
        let samples = try dataset.samples(.train, count: 400).map { sample -> LabelledInput in
            let image = RGBImage(width: 16, height: 16, pixels: dataset.render(sample, split: .train))!
            var input = [Float](repeating: 0, count: spec.floatsPerImage)
            try input.withUnsafeMutableBufferPointer { try Preprocessor.preprocess(image, spec: spec, into: $0.baseAddress!) }
            return LabelledInput(input: input, target: .label(sample.label), isBoundary: false)
        }
        FineTuner.run(network, on: samples, config: FineTuneConfig(mode: .full(unfreeze: nil), epochs: epochs,
                                                                   learningRate: 3e-3, seed: 1))
        let directory = root.appendingPathComponent("demo-model")
        try ModelDirectory.write(network, to: directory, training: TrainingRecord(
            dataSource: .demo(classes: 4, perClass: 100, overlap: 0.5, seed: 3)))
        let data = root.appendingPathComponent("data")
        try ModelRegistry(dataDirectory: data).register(modelDirectory: directory, name: "demo")
        return data
    }
}
