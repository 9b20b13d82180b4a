import NeuralNet
import ONNXFormat
import Tensor

/// ResNet basic blocks in an ONNX graph, as torchvision's `BasicBlock` exports:
///
///     x ─ Conv3×3/s ─ [BN] ─ Relu ─ Conv3×3 ─ [BN] ─ Add ─ Relu ─ y
///     └──────────── (Conv1×1/s ─ [BN]) ──────────────┘
///
/// PyTorch's exporter folds each BatchNorm into the Conv before it in eval mode (the Conv then has
/// a bias and no BN follows); either form becomes Boundary's `.residual(out:stride:)`, whose
/// convolutions have no bias and whose BatchNorms take it: BN(x + b) is BN with mean − b, and a
/// folded conv gets BN(γ 1, β b, mean 0, var 1 − ε).
extension SequentialLowering {
    /// The nodes reading each tensor (shape arithmetic left out), by index.
    static func consumers(of nodes: [Onnx_NodeProto]) -> [String: [Int]] {
        var consumers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() where node.opType != "Shape" {
            for input in Set(node.input) where !input.isEmpty { consumers[input, default: []].append(index) }
        }
        return consumers
    }

    /// Lowers the basic block starting at the current activation (read by two nodes); returns the
    /// indices of the nodes it covered.
    mutating func lowerResidualBlock(_ nodes: [Onnx_NodeProto], consumers: [String: [Int]]) throws(ImportError) -> Set<Int> {
        let x = current
        let starts = consumers[x] ?? []
        func fail(_ reason: String) -> ImportError {
            .unsupportedGraph("the activation '\(x)' feeds \(starts.count) nodes (\(starts.map { "'\(nodes[$0].name)' (\(nodes[$0].opType))" }.joined(separator: ", "))): only ResNet basic blocks (Conv-BN-Relu-Conv-BN plus an identity or 1×1 Conv-BN shortcut, then Add and Relu) are supported there; \(reason)")
        }
        guard starts.count == 2 else { throw fail("it is read by \(starts.count) nodes") }
        /// Follows single-consumer nodes from `start` up to (not including) an Add.
        func path(from start: Int) throws(ImportError) -> (nodes: [Int], add: Int) {
            var chain: [Int] = []
            var index = start
            while nodes[index].opType != "Add" {
                chain.append(index)
                guard chain.count <= 5, let next = consumers[nodes[index].output.first ?? ""], next.count == 1 else {
                    throw fail("'\(nodes[index].name)' (\(nodes[index].opType)) does not lead to one Add")
                }
                index = next[0]
            }
            return (chain, index)
        }
        let (a, b) = (try path(from: starts[0]), try path(from: starts[1]))
        guard a.add == b.add else { throw fail("its two branches end in different Add nodes") }
        let (main, shortcut) = a.nodes.count >= b.nodes.count ? (a.nodes, b.nodes) : (b.nodes, a.nodes)
        let add = a.add
        guard let after = consumers[nodes[add].output.first ?? ""], after.count == 1, nodes[after[0]].opType == "Relu" else {
            throw fail("the Add is not followed by one Relu")
        }
        // Main branch: Conv [BN] Relu Conv [BN].
        let ops = main.map { nodes[$0].opType }
        var cursor = 0
        func take(_ op: String) -> Int? {
            guard cursor < ops.count, ops[cursor] == op else { return nil }
            cursor += 1
            return main[cursor - 1]
        }
        guard let conv1 = take("Conv") else { throw fail("the main branch does not start with a Conv") }
        let bn1 = take("BatchNormalization")
        guard take("Relu") != nil, let conv2 = take("Conv") else { throw fail("the main branch is not Conv [BN] Relu Conv [BN]") }
        let bn2 = take("BatchNormalization")
        guard cursor == ops.count else { throw fail("the main branch has \(ops[cursor...].joined(separator: ", ")) after its second Conv") }

        let index = layers.count, name = "layers.\(index)"
        let first = try convolution(nodes[conv1], inChannels: shape.channels)
        guard first.kernel == 3, first.padding == 1 else { throw fail("the first Conv is not 3×3 with padding 1") }
        let out = first.weight.dims[0], stride = first.stride
        let second = try convolution(nodes[conv2], inChannels: out)
        guard second.kernel == 3, second.padding == 1, second.stride == 1, second.weight.dims[0] == out else {
            throw fail("the second Conv is not 3×3, stride 1, padding 1, \(out) channels")
        }
        try setConvolution("\(name).conv1", "\(name).bn1", first, bn: bn1.map { nodes[$0] })
        try setConvolution("\(name).conv2", "\(name).bn2", second, bn: bn2.map { nodes[$0] })
        let projects = stride != 1 || shape.channels != out
        if shortcut.isEmpty {
            guard !projects else { throw fail("the shortcut is the identity but the block changes shape") }
        } else {
            guard projects else { throw fail("the shortcut has a Conv but the block keeps its shape (Boundary's block would not)") }
            let shortcutOps = shortcut.map { nodes[$0].opType }
            guard shortcutOps == ["Conv"] || shortcutOps == ["Conv", "BatchNormalization"] else {
                throw fail("the shortcut is \(shortcutOps.joined(separator: ", ")), not Conv [BN]")
            }
            let projection = try convolution(nodes[shortcut[0]], inChannels: shape.channels)
            guard projection.kernel == 1, projection.padding == 0, projection.stride == stride, projection.weight.dims[0] == out else {
                throw fail("the shortcut Conv is not 1×1, stride \(stride), padding 0")
            }
            try setConvolution("\(name).shortcut.conv", "\(name).shortcut.bn", projection,
                               bn: shortcut.count > 1 ? nodes[shortcut[1]] : nil)
        }
        layers.append(.residual(out: out, stride: stride))
        shape = .spatial(out, (shape.height - 1) / stride + 1, (shape.width - 1) / stride + 1)
        current = nodes[after[0]].output[0]
        return Set(main + shortcut + [add, after[0]])
    }

    struct Convolution {
        var weight: ONNXTensors.Tensor
        var bias: [Float]?
        var kernel: Int
        var stride: Int
        var padding: Int
    }

    func convolution(_ node: Onnx_NodeProto, inChannels: Int) throws(ImportError) -> Convolution {
        func fail(_ reason: String) -> ImportError { .unsupportedNode(node: node.name, op: node.opType, reason: reason) }
        let attributes = NodeAttributes(node: node)
        guard node.input.count >= 2, let w = tensors[node.input[1]], w.dims.count == 4, w.dims[2] == w.dims[3], w.dims[1] == inChannels else {
            throw fail("needs a constant [out, \(inChannels), k, k] weight")
        }
        guard attributes.int("group", default: 1) == 1 else { throw fail("groups other than 1 are not supported") }
        guard (attributes.ints("dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail("dilated convolutions are not supported") }
        let strides = attributes.ints("strides") ?? [1, 1]
        guard strides.count == 2, strides[0] == strides[1] else { throw fail("strides \(strides) must be equal in both directions") }
        let padding = try Self.symmetricPadding(attributes, fail: fail)
        var bias: [Float]?
        if node.input.count > 2, !node.input[2].isEmpty {
            guard let b = tensors[node.input[2]], b.count == w.dims[0] else { throw fail("needs a constant bias of \(w.dims[0]) values") }
            bias = b.floats
        }
        return Convolution(weight: w, bias: bias, kernel: w.dims[2], stride: strides[0], padding: padding)
    }

    /// A bias-free Conv and the BatchNorm after it, from a Conv with or without bias and a BN node
    /// or none (folded).
    mutating func setConvolution(_ conv: String, _ norm: String, _ c: Convolution, bn: Onnx_NodeProto?) throws(ImportError) {
        parameters["\(conv).weight"] = c.weight.floats
        let out = c.weight.dims[0]
        let bias = c.bias ?? [Float](repeating: 0, count: out)
        guard let bn else {
            parameters["\(norm).weight"] = [Float](repeating: 1, count: out)
            parameters["\(norm).bias"] = bias
            parameters["\(norm).running_mean"] = [Float](repeating: 0, count: out)
            parameters["\(norm).running_var"] = [Float](repeating: 1 - 1e-5, count: out)
            return
        }
        try setBatchNorm(norm, from: bn, channels: out, convolutionBias: c.bias)
    }

    /// The BatchNorm `norm`'s parameters from a BatchNormalization node; a bias of the Conv before
    /// it moves into the running mean (BN(x + b) is BN with mean − b).
    mutating func setBatchNorm(_ norm: String, from bn: Onnx_NodeProto, channels: Int, convolutionBias: [Float]? = nil)
        throws(ImportError) {
        func fail(_ reason: String) -> ImportError { .unsupportedNode(node: bn.name, op: bn.opType, reason: reason) }
        let attributes = NodeAttributes(node: bn)
        guard attributes.int("training_mode", default: 0) == 0 else { throw fail("training_mode=1 exports are not supported; export in eval mode") }
        let statistics = try (1...4).map { (i: Int) throws(ImportError) -> [Float] in
            guard i < bn.input.count, let t = tensors[bn.input[i]], t.count == channels else {
                throw fail("needs \(channels) constant values per statistic")
            }
            return t.floats
        }
        // Boundary's BatchNorm adds ε = 1e-5: move the difference into the variance, exactly.
        let epsilon = attributes.float("epsilon", default: 1e-5)
        parameters["\(norm).weight"] = statistics[0]
        parameters["\(norm).bias"] = statistics[1]
        parameters["\(norm).running_mean"] = convolutionBias.map { zip(statistics[2], $0).map { $0 - $1 } } ?? statistics[2]
        parameters["\(norm).running_var"] = statistics[3].map { $0 + epsilon - 1e-5 }
    }
}
