import Foundation
import NeuralNet
import ONNXFormat
import SwiftProtobuf

/// What `boundary import` needs besides the file: the class labels (one per output of the last
/// layer) and how images are turned into the network's input.
public struct ImportOptions: Sendable {
    public var name: String
    public var labels: [String]
    /// channels, height, width; nil takes them from the graph's input (which must then be static).
    public var input: (channels: Int, height: Int, width: Int)?
    public var mean: [Float]?
    public var std: [Float]?
    public var resize: InputSpec.Resize
    /// Where tensors kept in external data files are read from: the model file's folder (their
    /// `location`s are relative to it). Nil refuses such tensors.
    public var externalDataDirectory: URL?

    public init(name: String, labels: [String], input: (channels: Int, height: Int, width: Int)? = nil,
                mean: [Float]? = nil, std: [Float]? = nil, resize: InputSpec.Resize = .centerCrop,
                externalDataDirectory: URL? = nil) {
        self.name = name
        self.externalDataDirectory = externalDataDirectory
        self.labels = labels
        self.input = input
        self.mean = mean
        self.std = std
        self.resize = resize
    }
}

/// An ONNX export of a convolutional classifier → a Boundary `Network` with its weights.
///
/// Supported today: VGG-style chains and ResNet basic blocks — Conv (groups 1, square kernels,
/// equal strides, symmetric pads), BatchNormalization (any epsilon, or folded into the Conv),
/// Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten or Shape→Gather→Unsqueeze→Concat→Reshape, Gemm or
/// MatMul(+Add), Add (a basic block's), Dropout, Identity and a final Softmax — at opsets 13–18,
/// weights in `raw_data`, the typed fields or external data files. Anything else (grouped
/// convolutions, other branching) fails naming the node, the op and what is supported.
public enum ONNXImporter {
    public static let supportedOpsets: ClosedRange<Int64> = 13...18
    public static let supportedOps = ["Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten",
                                      "Reshape", "Squeeze", "Shape", "Gather", "Unsqueeze", "Concat", "Gemm", "MatMul", "Add",
                                      "Dropout", "Identity", "Softmax", "LogSoftmax", "Constant"]

    public static func network(fromONNX data: Data, options: ImportOptions) throws(ImportError) -> Network {
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw .malformed("not an ONNX model: \(error)")
        }
        for opset in model.opsetImport where opset.domain.isEmpty || opset.domain == "ai.onnx" {
            guard supportedOpsets.contains(opset.version) else {
                throw .unsupportedOpset(version: opset.version, supported: supportedOpsets)
            }
        }
        let graph = model.graph
        let tensors = try ONNXTensors(graph: graph, externalData: options.externalDataDirectory)
        let dataInputs = graph.input.filter { tensors[$0.name] == nil }
        guard dataInputs.count == 1, let input = dataInputs.first else {
            throw .unsupportedGraph("the graph has \(dataInputs.count) data inputs (\(dataInputs.map(\.name).joined(separator: ", "))); an image classifier has one")
        }
        let shape = try inputShape(input, override: options.input)
        var lowering = SequentialLowering(tensors: tensors, current: input.name, shape: .spatial(shape.channels, shape.height, shape.width))
        try lowering.lower(Array(graph.node))
        guard graph.output.count == 1, lowering.isFinal(graph.output[0].name) else {
            throw .unsupportedGraph("the graph's output (\(graph.output.map(\.name).joined(separator: ", "))) is not the end of its one chain of layers")
        }
        let channels = shape.channels
        let spec = ModelSpec(
            name: options.name,
            input: InputSpec(channels: channels, height: shape.height, width: shape.width, resize: options.resize,
                             mean: options.mean ?? [Float](repeating: 0, count: channels),
                             std: options.std ?? [Float](repeating: 1, count: channels)),
            layers: try lowering.finishedLayers(classCount: options.labels.count),
            labels: options.labels)
        let network: Network
        do { network = try Network(spec: spec) } catch { throw .unsupportedGraph("the imported layers do not form a Boundary model: \(error)") }
        for entry in network.parameters.entries {
            guard let values = lowering.parameters[entry.name] else {
                throw .malformed("no weights for \(entry.name)")
            }
            guard values.count == entry.slot.count else {
                throw .malformed("\(entry.name): \(values.count) values for \(entry.slot.count) parameters")
            }
            network.parameters.pointer(for: entry).update(from: values, count: values.count)
        }
        return network
    }

    static func inputShape(_ input: Onnx_ValueInfoProto, override: (channels: Int, height: Int, width: Int)?)
        throws(ImportError) -> (channels: Int, height: Int, width: Int) {
        if let override { return override }
        let dims = input.type.tensorType.shape.dim
        let values = dims.map { $0.dimValue > 0 ? Int($0.dimValue) : nil }
        guard values.count == 4, let c = values[1], let h = values[2], let w = values[3] else {
            throw .inputShape("the graph's input '\(input.name)' has no static N×C×H×W shape; give it with --input CxHxW")
        }
        return (c, h, w)
    }
}

/// A reason an ONNX file cannot be imported, naming the node and op where there is one.
public enum ImportError: Error, CustomStringConvertible, Equatable {
    case malformed(String)
    case unsupportedOpset(version: Int64, supported: ClosedRange<Int64>)
    case unsupportedNode(node: String, op: String, reason: String)
    case unsupportedGraph(String)
    case inputShape(String)
    case labelCount(labels: Int, outputs: Int)

    public var description: String {
        switch self {
        case .malformed(let reason): "cannot read the model: \(reason)"
        case .unsupportedOpset(let version, let supported):
            "the model uses ONNX opset \(version); supported: \(supported.lowerBound)–\(supported.upperBound) (re-export with opset_version=\(supported.upperBound))"
        case .unsupportedNode(let node, let op, let reason):
            "node '\(node)' (\(op)): \(reason)"
        case .unsupportedGraph(let reason): reason
        case .inputShape(let reason): reason
        case .labelCount(let labels, let outputs):
            "the labels file names \(labels) classes but the model's last layer has \(outputs) outputs"
        }
    }
}
