import Foundation
import NeuralNet
import ONNXFormat
import SafeTensors
import Testing
import Training
@testable import ModelImport

/// ONNX files written the way PyTorch and tf2onnx export small VGG- and ResNet-style classifiers
/// (Fixtures/make_fixtures.py)
/// import into networks whose probabilities match onnxruntime's on 200 inputs; what cannot be
/// imported fails naming the node, the op and what is supported.
@Suite struct ONNXImportTests {
    static let labels = (0..<10).map { "class\($0)" }
    static let (count, size) = (200, 3 * 16 * 16)

    static func fixture(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return try Data(contentsOf: url)
    }

    /// The same inputs make_fixtures.py computes: an integer formula, exact in both languages.
    static func inputs() -> [Float] {
        var x: [Float] = []
        x.reserveCapacity(count * size)
        for n in 0..<count {
            for i in 0..<size {
                let v: Int = (n * 1103515245 + i * 12345 + 12345) % 2147483648
                let unit: Double = Double(v) / 2147483648.0
                x.append(Float((unit - 0.5) * 4))
            }
        }
        return x
    }

    static func expected(_ name: String) throws -> [Float] {
        try fixture("\(name).expected").withUnsafeBytes { LittleEndianFloat32.floats($0) }
    }

    static func probabilities(_ network: Network, _ x: [Float]) -> [Float] {
        var p = [Float](repeating: 0, count: count * 10)
        x.withUnsafeBufferPointer { input in
            p.withUnsafeMutableBufferPointer { InferenceSession(model: network.inferenceModel(), threads: 2).run(input.baseAddress!, batch: count, probabilities: $0.baseAddress!) }
        }
        return p
    }

    static func fixtureDirectory() throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    }

    /// Also files from real tools (Fixtures/make_real_fixtures.py): a Keras model converted by
    /// tf2onnx, a small VGG and a ResNet of torchvision's BasicBlocks exported by torch.onnx.export,
    /// and torch-resnet saved with its weights in an external data file.
    @Test(arguments: ["torch-vgg", "keras-gap", "torch-resnet", "torch-resnet-folded", "keras-real", "torch-real-vgg",
                      "torch-real-resnet", "torch-resnet-external"])
    func importedModelMatchesONNXRuntime(name: String) throws {
        let network = try ONNXImporter.network(fromONNX: try Self.fixture("\(name).onnx"), options: ImportOptions(
            name: name, labels: Self.labels, externalDataDirectory: try Self.fixtureDirectory()))
        #expect(network.spec.input.channels == 3 && network.spec.input.height == 16 && network.spec.input.width == 16)
        let blocks = network.spec.layers.filter { if case .residual = $0 { true } else { false } }
        #expect(blocks == (name.contains("resnet") ? [.residual(out: 8, stride: 1), .residual(out: 16, stride: 2)] : []))
        if name == "keras-real" {
            // tf2onnx folded the BatchNorms into biased convolutions and squeezed the pooled features.
            #expect(network.spec.layers.filter { if case .conv(_, _, _, _, true) = $0 { true } else { false } }.count == 2)
        }
        let x = Self.inputs(), expected = try Self.expected(name)
        #expect(expected.count == Self.count * 10)
        let served = Self.probabilities(network, x)
        let top = Set((0..<Self.count).map { n in (0..<10).max { served[n * 10 + $0] < served[n * 10 + $1] }! })
        #expect(top.count > 1, "the inputs are told apart")
        let worst = zip(served, expected).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "max |Δprob| \(worst) against onnxruntime")
        // It saves as a model directory that loads back to the same predictions, and it trains.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-import-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try ModelDirectory.write(network, to: directory)
        let reloaded = try ModelDirectory.load(directory)
        #expect(Self.probabilities(reloaded, x) == served)
        let trainer = Trainer(network: reloaded, optimizer: OptimizerConfig(learningRate: 1e-3))
        let loss = x.prefix(8 * Self.size).withContiguousStorageIfAvailable {
            trainer.step($0.baseAddress!, targets: (0..<8).map { .label($0) }).loss
        }
        #expect(loss.map(\.isFinite) == true)
    }

    static func model(_ name: String, _ change: (inout Onnx_ModelProto) -> Void) throws -> Data {
        var model = try Onnx_ModelProto(serializedBytes: try fixture("\(name).onnx"))
        change(&model)
        return try model.serializedData()
    }

    static func failure(_ data: Data, labels: [String] = labels) -> String {
        do {
            _ = try ONNXImporter.network(fromONNX: data, options: ImportOptions(name: "x", labels: labels))
            return "imported"
        } catch {
            return error.description
        }
    }

    @Test func unsupportedModelsAreRefusedNamingTheNodeAndWhatIsSupported() throws {
        let opset = Self.failure(try Self.model("torch-vgg") { $0.opsetImport[0].version = 9 })
        #expect(opset.contains("opset 9") && opset.contains("13–18"), "\(opset)")
        func index(_ model: Onnx_ModelProto, _ name: String) -> Int { model.graph.node.firstIndex { $0.name == name }! }
        let op = Self.failure(try Self.model("torch-vgg") { $0.graph.node[index($0, "/features/3/MaxPool")].opType = "LpPool" })
        #expect(op.contains("node '/features/3/MaxPool' (LpPool)") && op.contains("supported ops: Conv"), "\(op)")
        let residual = Self.failure(try Self.model("torch-vgg") { model in
            var add = Onnx_NodeProto()
            add.opType = "Add"
            add.name = "/layer1/Add"
            add.input = ["p1", "p1"]
            add.output = ["p1sum"]
            let conv = index(model, "/features/4/Conv")
            model.graph.node[conv].input[0] = "p1sum"
            model.graph.node.insert(add, at: conv)
        })
        #expect(residual.contains("'/layer1/Add' (Add)") && residual.contains("ResNet basic blocks"), "\(residual)")
        let grouped = Self.failure(try Self.model("torch-vgg") { model in
            var group = Onnx_AttributeProto()
            group.name = "group"
            group.type = .int
            group.i = 2
            model.graph.node[index(model, "/features/4/Conv")].attribute.append(group)
        })
        #expect(grouped.contains("groups other than 1"), "\(grouped)")
        #expect(Self.failure(try Self.fixture("torch-vgg.onnx"), labels: ["a", "b"]).contains("names 2 classes but the model's last layer has 10 outputs"))
        #expect(Self.failure(Data("not a model".utf8)).hasPrefix("cannot read the model"))
        let external = Self.failure(try Self.model("torch-vgg") { $0.graph.initializer[0].dataLocation = .external })
        #expect(external.contains("initializer 'c1.w' is external but names no location"), "\(external)")
    }
}

/// Export and import are inverse on what both support: scene-s goes out and comes back with the
/// same probabilities; a residual network is refused with the reason.
@Suite struct ONNXExportTests {
    /// scene-s, scene-s with its max pools as average pools (one counting padding as zeros), and a
    /// small ResNet.
    static let specs: [ModelSpec] = {
        let sceneS = ModelSpec.sceneS(labels: (0..<5).map { "c\($0)" })
        var averaged = sceneS
        var pools = 0
        averaged.layers = sceneS.layers.map { layer in
            guard case .maxPool = layer else { return layer }
            pools += 1
            return pools == 1 ? .avgPool(kernel: 2, stride: 2, padding: 0, countPadding: false)
                : .avgPool(kernel: 3, stride: 2, padding: 1, countPadding: true)
        }
        // A small ResNet: identity and projection shortcuts, as an imported torchvision model has.
        let resnet = ModelSpec(name: "scene-s", input: InputSpec(height: 16, width: 16),
                               layers: [.conv(out: 8, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                                        .residual(out: 8, stride: 1), .residual(out: 16, stride: 2), .globalAvgPool,
                                        .dense(out: nil)],
                               labels: sceneS.labels)
        return [sceneS, averaged, resnet]
    }()

    @Test(arguments: specs)
    func modelsRoundTripThroughONNX(spec original: ModelSpec) throws {
        let labels = original.labels
        let network = try Network(spec: original, seed: 4)
        // Nontrivial BatchNorm statistics, so the round trip carries them.
        for entry in network.parameters.entries where entry.kind == .state {
            let p = network.parameters.pointer(for: entry)
            let isVariance = entry.name.hasSuffix("running_var")
            for i in 0..<entry.slot.count {
                let step = Float(i % 7)
                p[i] = isVariance ? 0.5 + step * 0.2 : step * 0.1 - 0.2
            }
        }
        let data = try ONNXExporter.export(network)
        let spec = network.spec.input
        let back = try ONNXImporter.network(fromONNX: data, options: ImportOptions(name: "scene-s", labels: labels, mean: spec.mean, std: spec.std))
        #expect(back.spec == network.spec)
        let x: [Float] = (0..<(4 * original.input.channels * original.input.height * original.input.width)).map { (i: Int) -> Float in
            let step: Int = (i * 7919) % 1000
            return Float(step) / 500 - 1
        }
        func probabilities(_ n: Network) -> [Float] {
            var p = [Float](repeating: 0, count: 4 * labels.count)
            x.withUnsafeBufferPointer { input in
                p.withUnsafeMutableBufferPointer { InferenceSession(model: n.inferenceModel(), threads: 1).run(input.baseAddress!, batch: 4, probabilities: $0.baseAddress!) }
            }
            return p
        }
        #expect(probabilities(back) == probabilities(network))
        let model = try Onnx_ModelProto(serializedBytes: data)
        #expect(model.opsetImport.first?.version == 17 && model.graph.output.map(\.name) == ["probabilities"])
        #expect(model.graph.node.filter { $0.opType == "Conv" }.count == 6)
    }

    @Test func externalDataIsReadOnlyFromBesideTheModel() throws {
        let data = try ONNXImportTests.fixture("torch-resnet-external.onnx")
        func refusal(_ data: Data, directory: URL?) -> String {
            do {
                _ = try ONNXImporter.network(fromONNX: data, options: ImportOptions(name: "x", labels: ONNXImportTests.labels, externalDataDirectory: directory))
                return "imported"
            } catch { return error.description }
        }
        #expect(refusal(data, directory: nil).contains("keeps its data in 'torch-resnet-external.onnx.data': import the model from its file"))
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(refusal(data, directory: empty).contains("cannot read torch-resnet-external.onnx.data (beside the model)"))
        // A location that climbs out of the model's folder is refused before anything is read.
        var model = try Onnx_ModelProto(serializedBytes: data)
        for index in model.graph.initializer.indices {
            for entry in model.graph.initializer[index].externalData.indices where model.graph.initializer[index].externalData[entry].key == "location" {
                model.graph.initializer[index].externalData[entry].value = "../../etc/passwd"
            }
        }
        #expect(refusal(try model.serializedData(), directory: try ONNXImportTests.fixtureDirectory()).contains("is outside the model's folder"))
        // An offset past the file's end is refused with the sizes, not read.
        var shifted = try Onnx_ModelProto(serializedBytes: data)
        var huge = Onnx_StringStringEntryProto()
        huge.key = "offset"
        huge.value = "9223372036854775807"
        shifted.graph.initializer[0].externalData.removeAll { $0.key == "offset" }
        shifted.graph.initializer[0].externalData.append(huge)
        #expect(refusal(try shifted.serializedData(), directory: try ONNXImportTests.fixtureDirectory())
            .contains("torch-resnet-external.onnx.data has 25480 bytes; the tensor wants"))
    }

    @Test func multiHeadModelsAreRefused() throws {
        let spec = ModelSpec.sceneS(labels: []).relabelled(labels: [], heads: [HeadSpec(name: "a", labels: ["x", "y"]),
                                                                              HeadSpec(name: "b", labels: ["z", "w"])])
        let network = try Network(spec: spec, seed: 1)
        #expect(throws: ImportError.unsupportedGraph("scene-s has 2 heads (a, b), each its own softmax; exporting multi-head "
                                                     + "models to ONNX is not supported yet")) {
            try ONNXExporter.export(network)
        }
    }
}
