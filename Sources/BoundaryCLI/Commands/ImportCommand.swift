import ArgumentParser
import Foundation
import ModelImport
import NeuralNet
import Training

/// `boundary import`: an ONNX export of a convolutional classifier → a Boundary model directory
/// (spec + safetensors) that serves, fine-tunes and can be registered like a trained one.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn an ONNX export of a convolutional classifier into a Boundary model directory.",
        discussion: "Supported at opsets 13-18: VGG-style chains and ResNet basic blocks - Conv, BatchNormalization (or folded "
            + "into the Conv), Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten, Squeeze after a global pool, or "
            + "Shape-Gather-Unsqueeze-Concat-Reshape, Gemm or MatMul(+Add), a basic block's Add, Dropout, Identity, a final "
            + "Softmax. Weights may be in external data files beside the model. Anything else fails naming the node."
    )

    @Argument(help: "The .onnx file.") var file: String
    @Option(help: "Class labels, one per line, in the order of the model's outputs.") var labels: String
    @Option(help: "Output model directory.") var out: String
    @Option(help: "Model name (default: the file's name).") var name: String?
    @Option(help: "Input as CxHxW (default: the graph's static input shape).") var input: String?
    @Option(help: "Per-channel mean of the preprocessing, comma-separated (default 0: pixels in [0, 1]).") var mean: String?
    @Option(help: "Per-channel standard deviation, comma-separated (default 1).") var std: String?

    func run() throws {
        let labelText: String
        do { labelText = try String(contentsOfFile: labels, encoding: .utf8) } catch {
            throw ValidationError("cannot read the labels file \(labels): \(error.localizedDescription)")
        }
        let labelList = labelText.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !labelList.isEmpty else { throw ValidationError("\(labels) names no labels") }
        var shape: (channels: Int, height: Int, width: Int)?
        if let input {
            let parts = input.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--input must be CxHxW, e.g. 3x224x224; got \(input)") }
            shape = (parts[0], parts[1], parts[2])
        }
        func floats(_ text: String?, _ flag: String) throws -> [Float]? {
            guard let text else { return nil }
            let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard values.allSatisfy({ $0 != nil }) else { throw ValidationError("\(flag) must be comma-separated numbers; got \(text)") }
            return values.compactMap { $0 }
        }
        let modelName = name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let options = ImportOptions(name: modelName, labels: labelList, input: shape,
                                    mean: try floats(mean, "--mean"), std: try floats(std, "--std"),
                                    externalDataDirectory: URL(fileURLWithPath: file).deletingLastPathComponent())
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let network: Network
        do { network = try ONNXImporter.network(fromONNX: data, options: options) } catch {
            throw ValidationError("\(file): \(error.description)")
        }
        try ModelDirectory.write(network, to: URL(fileURLWithPath: out),
                                 training: TrainingRecord(dataSource: .other("imported from \(URL(fileURLWithPath: file).lastPathComponent)")))
        print("wrote \(out): \(network.layerSummary.count) layers, \(labelList.count) classes, input "
              + "\(network.spec.input.channels)x\(network.spec.input.height)x\(network.spec.input.width)")
    }
}
