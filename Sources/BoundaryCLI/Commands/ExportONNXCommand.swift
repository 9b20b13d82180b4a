import ArgumentParser
import Foundation
import ModelImport
import NeuralNet
import Training

/// `boundary export-onnx`: a model directory → an ONNX file for onnxruntime, PyTorch or TensorFlow.
struct ExportONNXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Write a model directory as ONNX (opset 17): input [batch, C, H, W] normalised with the spec's mean and std, output softmax probabilities.",
        discussion: "VGG-style models such as scene-s and ResNets (blocks written as torchvision's BasicBlock); multi-head models are not supported yet."
    )

    @Argument(help: "Model directory (from train, import or the registry).") var model: String
    @Option(help: "Output .onnx file.") var out: String

    func run() throws {
        let network = try ModelDirectory.load(URL(fileURLWithPath: model))
        let data: Data
        do { data = try ONNXExporter.export(network) } catch { throw ValidationError("\(model): \(error.description)") }
        try data.write(to: URL(fileURLWithPath: out), options: .atomic)
        let input = network.spec.input
        print("wrote \(out) (\(data.count) bytes): input \(input.channels)x\(input.height)x\(input.width), "
              + "mean \(input.mean), std \(input.std), \(network.spec.classCount) classes")
    }
}
