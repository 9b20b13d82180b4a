import ArgumentParser
import Foundation
import NeuralNet
import SafeTensors
import Tensor
import Training

/// `boundary bench model DIR`: one model directory (trained, imported or from the registry) at
/// batch 1 and 32, tuned as serving tunes it; with `--inputs`, also its probabilities for given
/// tensors, so a script can compare them with another runtime on the same model (bench/run-onnx-bench).
struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Batch-1 latency and batch-32 throughput of a model directory; optionally its probabilities for raw inputs."
    )

    @Argument(help: "Model directory.") var model: String
    @Option(help: "Thread counts to measure (comma-separated).") var threads: String = "1,2"
    @Option(help: "Seconds per timed round (5 rounds, median reported).") var roundSeconds: Double = 0.25
    @Option(help: "Little-endian float32 inputs, N×C×H×W, already normalised.") var inputs: String?
    @Option(help: "With --inputs: where to write the probabilities (little-endian float32, N×classes).") var probabilities: String?

    func run() throws {
        #if DEBUG
        print("warning: debug build; benchmark figures are only meaningful with `swift run -c release`")
        #endif
        print("# \(KernelLevel.summary)")
        let network = try ModelDirectory.load(URL(fileURLWithPath: model))
        let folded = network.inferenceModel()
        if let inputs {
            guard let probabilities else { throw ValidationError("--inputs needs --probabilities to write to") }
            let data = try Data(contentsOf: URL(fileURLWithPath: inputs))
            let size = folded.inputShape.size
            guard data.count % (size * 4) == 0, !data.isEmpty else {
                throw ValidationError("\(inputs) holds \(data.count) bytes, not a whole number of \(size)-float inputs")
            }
            let count = data.count / (size * 4)
            let x = data.withUnsafeBytes { LittleEndianFloat32.floats($0) }
            var p = [Float](repeating: 0, count: count * folded.classCount)
            x.withUnsafeBufferPointer { input in
                p.withUnsafeMutableBufferPointer { InferenceSession(model: folded, threads: 2).run(input.baseAddress!, batch: count, probabilities: $0.baseAddress!) }
            }
            try Data(LittleEndianFloat32.bytes(p)).write(to: URL(fileURLWithPath: probabilities), options: .atomic)
            print("wrote \(probabilities): \(count) × \(folded.classCount) probabilities")
        }
        let engine = EngineBench.parseOrExit(["--round-seconds", String(roundSeconds)])
        for t in threads.split(separator: ",").compactMap({ Int($0) }).filter({ $0 > 0 }) {
            engine.inferenceFigures(folded.tuned(batch: 1, threads: t), name: network.spec.name, batch: 1, threads: t)
            engine.inferenceFigures(folded.tuned(batch: 32, threads: t), name: network.spec.name, batch: 32, threads: t)
        }
    }
}
