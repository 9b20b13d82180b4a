import Foundation
import NeuralNet
import ONNXFormat
import SafeTensors
import SwiftProtobuf

/// A Boundary network → an ONNX model (opset 17) that onnxruntime, PyTorch or TensorFlow can run:
/// input `input` [batch, C, H, W] (already normalised with the spec's mean and std), outputs the
/// softmax `probabilities` [batch, classes]. Weights go in `raw_data`; residual blocks are written
/// as torchvision's BasicBlock (Conv-BN-Relu-Conv-BN, a 1×1 Conv-BN projection when needed, Add,
/// Relu), which the importer reads back.
public enum ONNXExporter {
    public static let opset: Int64 = 17

    public static func export(_ network: Network) throws(ImportError) -> Data {
        let spec = network.spec
        if let heads = spec.heads {
            throw .unsupportedGraph("\(spec.name) has \(heads.count) heads (\(heads.map(\.name).joined(separator: ", "))), each its own "
                                    + "softmax; exporting multi-head models to ONNX is not supported yet")
        }
        var values: [String: (dims: [Int], floats: [Float])] = [:]
        for entry in network.parameters.entries {
            let pointer = network.parameters.pointer(for: entry)
            values[entry.name] = (entry.shape, Array(UnsafeBufferPointer(start: pointer, count: entry.slot.count)))
        }
        var graph = Onnx_GraphProto()
        graph.name = spec.name
        var current = "input"
        var channels = spec.input.channels
        var flat = false
        func initializer(_ name: String, dims: [Int], floats: [Float]) {
            var tensor = Onnx_TensorProto()
            tensor.name = name
            tensor.dims = dims.map(Int64.init)
            tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            tensor.rawData = Data(LittleEndianFloat32.bytes(floats))
            graph.initializer.append(tensor)
        }
        func parameter(_ name: String) throws(ImportError) -> [Float] {
            guard let value = values[name] else { throw .malformed("the network has no parameter \(name)") }
            return value.floats
        }
        func node(_ op: String, _ name: String, inputs: [String], attributes: [Onnx_AttributeProto] = []) {
            var node = Onnx_NodeProto()
            node.opType = op
            node.name = name
            node.input = inputs
            node.output = ["\(name).out"]
            node.attribute = attributes
            graph.node.append(node)
            current = node.output[0]
        }
        // Conv [out, channels, k, k] (+ bias [out]) on the current value.
        func conv(_ name: String, out: Int, kernel: Int, stride: Int, padding: Int, bias: Bool) throws(ImportError) {
            initializer("\(name).weight", dims: [out, channels, kernel, kernel], floats: try parameter("\(name).weight"))
            if bias { initializer("\(name).bias", dims: [out], floats: try parameter("\(name).bias")) }
            node("Conv", name, inputs: [current, "\(name).weight"] + (bias ? ["\(name).bias"] : []),
                 attributes: [.ints("kernel_shape", [kernel, kernel]), .ints("strides", [stride, stride]),
                              .ints("pads", [padding, padding, padding, padding])])
            channels = out
        }
        // BatchNormalization over `channels` with the layer's statistics (evaluation mode).
        func batchNorm(_ name: String) throws(ImportError) {
            for (suffix, parameterName) in [("scale", "weight"), ("B", "bias"), ("mean", "running_mean"), ("var", "running_var")] {
                initializer("\(name).\(suffix)", dims: [channels], floats: try parameter("\(name).\(parameterName)"))
            }
            node("BatchNormalization", name, inputs: [current, "\(name).scale", "\(name).B", "\(name).mean", "\(name).var"],
                 attributes: [.float("epsilon", 1e-5)])
        }
        for (index, layer) in spec.layers.enumerated() {
            let name = "layers.\(index)"
            switch layer {
            case .conv(let out, let kernel, let stride, let padding, let bias):
                try conv(name, out: out, kernel: kernel, stride: stride, padding: padding, bias: bias)
            case .batchNorm:
                try batchNorm(name)
            case .relu:
                node("Relu", name, inputs: [current])
            case .maxPool(let kernel, let stride, let padding):
                node("MaxPool", name, inputs: [current], attributes: [
                    .ints("kernel_shape", [kernel, kernel]), .ints("strides", [stride, stride]),
                    .ints("pads", [padding, padding, padding, padding])])
            case .avgPool(let kernel, let stride, let padding, let countPadding):
                node("AveragePool", name, inputs: [current], attributes: [
                    .ints("kernel_shape", [kernel, kernel]), .ints("strides", [stride, stride]),
                    .ints("pads", [padding, padding, padding, padding]), .int("count_include_pad", countPadding ? 1 : 0)])
            case .globalAvgPool:
                node("GlobalAveragePool", name, inputs: [current])
                node("Flatten", "\(name).flatten", inputs: [current])
                flat = true
            case .flatten:
                guard !flat else { continue }  // Boundary's flatten of a flat activation changes nothing.
                node("Flatten", name, inputs: [current])
                flat = true
            case .dropout:
                continue  // The identity at inference.
            case .dense(let out):
                let outputs = out ?? spec.classCount
                let weight = try parameter("\(name).weight")
                initializer("\(name).weight", dims: [outputs, weight.count / outputs], floats: weight)
                initializer("\(name).bias", dims: [outputs], floats: try parameter("\(name).bias"))
                node("Gemm", name, inputs: [current, "\(name).weight", "\(name).bias"], attributes: [.int("transB", 1)])
                channels = outputs
            case .residual(let out, let stride):
                // torchvision's BasicBlock, as the importer reads it: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
                let input = current, inputChannels = channels
                try conv("\(name).conv1", out: out, kernel: 3, stride: stride, padding: 1, bias: false)
                try batchNorm("\(name).bn1")
                node("Relu", "\(name).relu1", inputs: [current])
                try conv("\(name).conv2", out: out, kernel: 3, stride: 1, padding: 1, bias: false)
                try batchNorm("\(name).bn2")
                let main = current
                var shortcut = input
                if stride != 1 || inputChannels != out {
                    current = input
                    channels = inputChannels
                    try conv("\(name).shortcut.conv", out: out, kernel: 1, stride: stride, padding: 0, bias: false)
                    try batchNorm("\(name).shortcut.bn")
                    shortcut = current
                }
                node("Add", "\(name).add", inputs: [main, shortcut])
                node("Relu", "\(name).relu", inputs: [current])
            }
        }
        node("Softmax", "probabilities", inputs: [current], attributes: [.int("axis", 1)])
        graph.node[graph.node.count - 1].output = ["probabilities"]
        graph.input = [valueInfo("input", dims: [nil, spec.input.channels, spec.input.height, spec.input.width])]
        graph.output = [valueInfo("probabilities", dims: [nil, spec.classCount])]
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.producerName = "boundary"
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = opset
        model.opsetImport = [opsetID]
        model.graph = graph
        do { return try model.serializedData() } catch { throw .malformed("could not encode the model: \(error)") }
    }

    /// A float tensor's declaration; nil dimensions are the batch.
    static func valueInfo(_ name: String, dims: [Int?]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape.dim = dims.map { size in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let size { dim.dimValue = Int64(size) } else { dim.dimParam = "batch" }
            return dim
        }
        info.type.tensorType = tensorType
        return info
    }
}

extension Onnx_AttributeProto {
    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }
}
