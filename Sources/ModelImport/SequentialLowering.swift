import NeuralNet
import ONNXFormat
import Tensor

/// Walks an ONNX graph's nodes in order along its chain of activations, turning each node into
/// a Boundary layer and its weights into that layer's parameters (named as `Network` names them:
/// `layers.<index>.weight`, …). Shape arithmetic (Shape→Gather→Unsqueeze→Concat) is followed on
/// the side, so the Reshape it feeds can be recognised as a flatten.
struct SequentialLowering {
    let tensors: ONNXTensors
    /// The tensor holding the chain's current activation, and its shape.
    var current: String
    var shape: ActivationShape
    var layers: [LayerSpec] = []
    var parameters: [String: [Float]] = [:]
    /// Outputs of shape arithmetic on the chain (never activations).
    private var shapeValues: Set<String> = []
    /// A MatMul's layer waiting for the Add that gives it a bias.
    private var pendingBias: (layer: Int, outputs: Int)?
    /// Names that are the chain's value after a trailing Softmax, Identity or Dropout.
    private var aliases: Set<String> = []

    init(tensors: ONNXTensors, current: String, shape: ActivationShape) {
        self.tensors = tensors
        self.current = current
        self.shape = shape
    }

    func isFinal(_ name: String) -> Bool { name == current || aliases.contains(name) }

    /// The layers, with the last dense layer made the classifier head.
    func finishedLayers(classCount: Int) throws(ImportError) -> [LayerSpec] {
        guard case .dense(let outputs?) = layers.last else {
            throw .unsupportedGraph("the model does not end in a fully connected layer (Gemm or MatMul) giving one score per class")
        }
        guard outputs == classCount else { throw .labelCount(labels: classCount, outputs: outputs) }
        return layers.dropLast() + [.dense(out: nil)]
    }

    /// Lowers every node in order; an activation read by two nodes starts a residual block.
    mutating func lower(_ nodes: [Onnx_NodeProto]) throws(ImportError) {
        let consumers = Self.consumers(of: nodes)
        var done = Set<Int>()
        for (index, node) in nodes.enumerated() where !done.contains(index) {
            if node.opType != "Shape", node.input.first == current, (consumers[current]?.count ?? 0) > 1 {
                done.formUnion(try lowerResidualBlock(nodes, consumers: consumers))
            } else {
                try lower(node)
            }
        }
    }

    mutating func lower(_ node: Onnx_NodeProto) throws(ImportError) {
        let name = node.name.isEmpty ? node.output.first ?? "?" : node.name
        func fail(_ reason: String) -> ImportError { .unsupportedNode(node: name, op: node.opType, reason: reason) }
        let attributes = NodeAttributes(node: node)
        if node.opType == "Constant" || (node.opType == "Identity" && node.output.first.flatMap { tensors[$0] } != nil) { return }
        // Shape arithmetic: only ever feeds a Reshape's target shape.
        if node.opType == "Shape" || (["Gather", "Unsqueeze", "Concat", "Cast", "Slice"].contains(node.opType)
                                      && node.input.allSatisfy({ shapeValues.contains($0) || tensors[$0] != nil || $0.isEmpty })
                                      && node.input.contains(where: shapeValues.contains)) {
            guard node.opType != "Shape" || node.input.first == current else { throw fail("takes the shape of a tensor that is not the current activation") }
            shapeValues.formUnion(node.output)
            return
        }
        guard let data = node.input.first, data == current else {
            throw .unsupportedGraph("node '\(name)' (\(node.opType)) reads '\(node.input.first ?? "")', not the activation of the layer before it: only chains of layers and ResNet basic blocks are supported")
        }
        guard node.output.count >= 1 else { throw fail("has no output") }
        let output = node.output[0]
        func weight(_ index: Int) throws(ImportError) -> ONNXTensors.Tensor {
            guard index < node.input.count, let tensor = tensors[node.input[index]] else {
                throw fail("input \(index) ('\(index < node.input.count ? node.input[index] : "")') must be a constant weight")
            }
            return tensor
        }
        func layerName(_ offset: Int = 0) -> String { "layers.\(layers.count + offset)" }
        switch node.opType {
        case "Conv":
            guard !shape.isFlat else { throw fail("needs an image-shaped input") }
            let c = try convolution(node, inChannels: shape.channels)
            parameters["\(layerName()).weight"] = c.weight.floats
            if let bias = c.bias { parameters["\(layerName()).bias"] = bias }
            let out = c.weight.dims[0]
            layers.append(.conv(out: out, kernel: c.kernel, stride: c.stride, padding: c.padding, bias: c.bias != nil))
            shape = .spatial(out, (shape.height + 2 * c.padding - c.kernel) / c.stride + 1,
                             (shape.width + 2 * c.padding - c.kernel) / c.stride + 1)
        case "BatchNormalization":
            guard !shape.isFlat else { throw fail("is supported on image-shaped activations only") }
            try setBatchNorm(layerName(), from: node, channels: shape.channels)
            layers.append(.batchNorm)
        case "Relu":
            layers.append(.relu)
        case "MaxPool", "AveragePool":
            guard !shape.isFlat else { throw fail("needs an image-shaped input") }
            let kernel = attributes.ints("kernel_shape") ?? []
            guard kernel.count == 2, kernel[0] == kernel[1] else { throw fail("kernel \(kernel) must be square") }
            let strides = attributes.ints("strides") ?? [1, 1]
            guard strides.count == 2, strides[0] == strides[1] else { throw fail("strides \(strides) must be equal in both directions") }
            guard attributes.int("ceil_mode", default: 0) == 0 else { throw fail("ceil_mode=1 is not supported") }
            guard (attributes.ints("dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail("dilations are not supported") }
            let padding = try Self.symmetricPadding(attributes, fail: fail)
            guard padding * 2 <= kernel[0] else { throw fail("padding \(padding) is more than half the kernel") }
            if node.opType == "MaxPool" {
                layers.append(.maxPool(kernel: kernel[0], stride: strides[0], padding: padding))
            } else {
                let countPadding = attributes.int("count_include_pad", default: 0)
                guard countPadding == 0 || countPadding == 1 else { throw fail("count_include_pad must be 0 or 1") }
                layers.append(.avgPool(kernel: kernel[0], stride: strides[0], padding: padding, countPadding: countPadding == 1))
            }
            shape = .spatial(shape.channels, (shape.height + 2 * padding - kernel[0]) / strides[0] + 1,
                             (shape.width + 2 * padding - kernel[0]) / strides[0] + 1)
        case "GlobalAveragePool":
            guard !shape.isFlat else { throw fail("needs an image-shaped input") }
            layers.append(.globalAvgPool)
            shape = .flat(shape.channels)
        case "Flatten", "Reshape", "Squeeze":
            if node.opType == "Squeeze" {
                // tf2onnx writes Keras' GlobalAveragePooling2D as GlobalAveragePool → Squeeze(axes 2, 3).
                let axes = node.input.count > 1 ? tensors[node.input[1]]?.ints.map(Int.init) : attributes.ints("axes")
                guard let axes, Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3], axes.count == 2,
                      shape.isFlat || (shape.height == 1 && shape.width == 1) else {
                    throw fail("only squeezing the 1×1 spatial axes (2, 3) after a global pool is supported")
                }
            } else if node.opType == "Flatten" {
                guard attributes.int("axis", default: 1) == 1 else { throw fail("only axis=1 (keep the batch axis) is supported") }
            } else {
                let target = node.input.count > 1 ? node.input[1] : ""
                let flattens = shapeValues.contains(target)
                    || tensors[target].map { $0.ints.count == 2 && ($0.ints[1] == -1 || Int($0.ints[1]) == shape.size) } ?? false
                guard flattens else { throw fail("only a reshape to [batch, features] (a flatten) is supported") }
            }
            // After a global average pool the activation is flat already.
            if !shape.isFlat {
                layers.append(.flatten)
                shape = .flat(shape.size)
            }
        case "Gemm", "MatMul":
            guard shape.isFlat else { throw fail("needs a flat input: add Flatten before it") }
            let w = try weight(1)
            guard w.dims.count == 2 else { throw fail("weight shape \(w.dims) is not 2-D") }
            if node.opType == "Gemm" {
                guard attributes.float("alpha", default: 1) == 1, attributes.float("beta", default: 1) == 1,
                      attributes.int("transA", default: 0) == 0 else { throw fail("only alpha=1, beta=1, transA=0 is supported") }
            }
            let transposed = node.opType == "Gemm" && attributes.int("transB", default: 0) == 1
            let (outputs, inputs) = transposed ? (w.dims[0], w.dims[1]) : (w.dims[1], w.dims[0])
            guard inputs == shape.channels else { throw fail("takes \(inputs) features, the layer before gives \(shape.channels)") }
            // Boundary's dense weight is [out, in], as Gemm with transB=1 (PyTorch) stores it.
            parameters["\(layerName()).weight"] = transposed ? w.floats : Self.transpose(w.floats, rows: inputs, columns: outputs)
            if node.opType == "Gemm", node.input.count > 2, !node.input[2].isEmpty {
                let bias = try weight(2)
                guard bias.count == outputs else { throw fail("bias has \(bias.count) values for \(outputs) outputs") }
                parameters["\(layerName()).bias"] = bias.floats
            } else {
                parameters["\(layerName()).bias"] = [Float](repeating: 0, count: outputs)
                if node.opType == "MatMul" { pendingBias = (layers.count, outputs) }
            }
            layers.append(.dense(out: outputs))
            shape = .flat(outputs)
            current = output
            return
        case "Add":
            let other = node.input.count > 1 ? node.input[1] : ""
            guard let pending = pendingBias, let bias = tensors[other], bias.count == pending.outputs else {
                throw .unsupportedGraph("node '\(name)' (Add) adds two activations outside a ResNet basic block, or a constant that is not a MatMul's bias: only chains of layers and ResNet basic blocks are supported")
            }
            parameters["layers.\(pending.layer).bias"] = bias.floats
        case "Dropout", "Identity":
            aliases.insert(output)
            current = output
            pendingBias = nil
            return
        case "Softmax", "LogSoftmax":
            // Serving applies softmax to the logits itself; a final (log-)softmax changes nothing it reports.
            aliases.insert(output)
            return
        default:
            throw fail("is not supported; supported ops: \(ONNXImporter.supportedOps.joined(separator: ", "))")
        }
        pendingBias = nil
        current = output
    }

    /// The one padding a Conv or MaxPool uses on every side (explicit pads, or auto_pad VALID).
    static func symmetricPadding(_ attributes: NodeAttributes, fail: (String) -> ImportError) throws(ImportError) -> Int {
        switch attributes.string("auto_pad") ?? "NOTSET" {
        case "NOTSET", "":
            let pads = attributes.ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4, Set(pads).count == 1 else { throw fail("pads \(pads) must be the same on every side") }
            return pads[0]
        case "VALID":
            return 0
        case let mode:
            throw fail("auto_pad \(mode) is not supported; export with explicit pads")
        }
    }

    static func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = values[r * columns + c] } }
        return out
    }
}
