import Foundation
import Imaging
import NeuralNet
import Training

/// Small models, data directories and encoded images shared by the serving and server tests. Models
/// are tiny (16×16 input, two convolutions) so a test loads and runs one in milliseconds.
public enum Fixtures {
    public static let labels = ["circle", "square", "triangle"]

    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public static func tinySpec(labels: [String] = labels, size: Int = 16) -> ModelSpec {
        ModelSpec(name: "tiny", input: InputSpec(height: size, width: size),
                  layers: [.conv(out: 8, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                           .maxPool(kernel: 2, stride: 2, padding: 0),
                           .conv(out: 16, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                           .globalAvgPool, .dense(out: nil)],
                  labels: labels)
    }

    /// Writes a tiny randomly initialised model directory; different seeds give different outputs.
    @discardableResult
    public static func writeTinyModel(to directory: URL, labels: [String] = labels, seed: UInt64) throws -> Network {
        let network = try Network(spec: tinySpec(labels: labels), seed: seed)
        try ModelDirectory.write(network, to: directory)
        return network
    }

    /// A data directory with `versions` registered versions (seeds 1, 2, …) of each named model;
    /// the highest serves.
    public static func dataDirectory(models: [String: Int]) throws -> URL {
        let root = try temporaryDirectory()
        let registry = ModelRegistry(dataDirectory: root.appendingPathComponent("data"))
        for (name, versions) in models.sorted(by: { $0.key < $1.key }) {
            for version in 1...versions {
                let staging = root.appendingPathComponent("staging-\(name)-\(version)")
                try writeTinyModel(to: staging, seed: UInt64(version))
                try registry.register(modelDirectory: staging, name: name,
                                      record: VersionRecord(parent: version > 1 ? version - 1 : nil,
                                                            lineage: ["seed": String(version)]))
            }
        }
        return root.appendingPathComponent("data")
    }

    /// A photo-like JPEG; different seeds give different images (and image ids).
    public static func jpeg(width: Int = 40, height: Int = 30, seed: UInt64 = 1) throws -> Data {
        Data(try JPEGEncoder.encode(SyntheticImage.photoLike(width: width, height: height, seed: seed)))
    }

    public static func png(width: Int = 40, height: Int = 30, seed: UInt64 = 1) throws -> Data {
        Data(try PNGEncoder.encode(SyntheticImage.photoLike(width: width, height: height, seed: seed)))
    }

    /// Reference probabilities for `image` through the model at `directory`, computed alone (batch
    /// of one) on the calling thread — what a batched server must reproduce for each caller.
    public static func referenceProbabilities(model directory: URL, image: Data) throws -> [Float] {
        let network = try ModelDirectory.load(directory)
        let spec = PreprocessSpec(network.spec.input)
        var input = [Float](repeating: 0, count: spec.floatsPerImage)
        try input.withUnsafeMutableBufferPointer { buffer in
            try Preprocessor.preprocess([UInt8](image), spec: spec, into: buffer.baseAddress!)
        }
        let session = InferenceSession(model: network.inferenceModel(), threads: 1)
        var probabilities = [Float](repeating: 0, count: network.spec.classCount)
        input.withUnsafeBufferPointer { input in
            probabilities.withUnsafeMutableBufferPointer { output in
                session.run(input.baseAddress!, batch: 1, probabilities: output.baseAddress!)
            }
        }
        return probabilities
    }
}
