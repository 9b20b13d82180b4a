import Foundation
import Testing
@testable import NeuralNet

/// Model specs: JSON form, built-in architectures and build-time validation.
@Suite struct ModelSpecTests {
    @Test(arguments: ModelSpec.builtinNames)
    func builtinJSONRoundTrip(name: String) throws {
        let spec = try #require(ModelSpec.builtin(name, labels: ["a", "b", "c"]))
        #expect(spec.name == name)
        let data = try spec.jsonData()
        let decoded = try ModelSpec.decode(data)
        #expect(decoded == spec)
        // Deterministic encoding (sorted keys), so re-encoding gives the same bytes.
        #expect(try decoded.jsonData() == data)
    }

    @Test func unknownBuiltinIsNil() {
        #expect(ModelSpec.builtin("resnet50", labels: ["a"]) == nil)
    }

    /// Hand-written JSON with the documented defaults: conv padding kernel/2, stride 1, no bias;
    /// maxPool stride = kernel; residual stride 1; dense without `out` is the classifier.
    @Test func jsonDefaults() throws {
        let json = """
        {"name": "hand", "labels": ["x", "y"],
         "input": {"channels": 1, "height": 8, "width": 8, "resize": "squash", "mean": [0.5], "std": [0.25]},
         "layers": [{"type": "conv", "out": 4, "kernel": 5}, {"type": "batchNorm"}, {"type": "relu"},
                    {"type": "maxPool", "kernel": 2}, {"type": "residual", "out": 4}, {"type": "dropout", "rate": 0.25},
                    {"type": "globalAvgPool"}, {"type": "flatten"}, {"type": "dense", "out": 3}, {"type": "dense"}]}
        """
        let spec = try ModelSpec.decode(Data(json.utf8))
        #expect(spec.input == InputSpec(channels: 1, height: 8, width: 8, resize: .squash, mean: [0.5], std: [0.25]))
        #expect(spec.layers == [.conv(out: 4, kernel: 5, stride: 1, padding: 2, bias: false), .batchNorm, .relu,
                                .maxPool(kernel: 2, stride: 2, padding: 0), .residual(out: 4, stride: 1), .dropout(rate: 0.25),
                                .globalAvgPool, .flatten, .dense(out: 3), .dense(out: nil)])
        #expect(try ModelSpec.decode(spec.jsonData()) == spec)
        let network = try Network(spec: spec)
        #expect(network.classCount == 2 && network.embeddingSize == 3)
    }

    @Test func unknownLayerTypeIsADecodingError() {
        let json = #"{"name": "n", "labels": ["a"], "input": {"channels": 3, "height": 8, "width": 8, "resize": "centerCrop", "mean": [0,0,0], "std": [1,1,1]}, "layers": [{"type": "conv3d", "out": 2}]}"#
        #expect(throws: DecodingError.self) { try ModelSpec.decode(Data(json.utf8)) }
    }

    // MARK: Validation

    static func spec(_ layers: [LayerSpec], size: Int = 8, channels: Int = 3, labels count: Int = 2,
                     mean: [Float]? = nil, std: [Float]? = nil) -> ModelSpec {
        ModelSpec(name: "t", input: InputSpec(channels: channels, height: size, width: size,
                                               mean: mean ?? Array(repeating: 0, count: channels),
                                               std: std ?? Array(repeating: 1, count: channels)),
                  layers: layers, labels: labels(count))
    }

    static func buildError(_ spec: ModelSpec) -> NetworkBuildError? {
        do {
            _ = try Network(spec: spec)
            return nil
        } catch let error as NetworkBuildError {
            return error
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    @Test func denseOnSpatialInput() {
        let error = Self.buildError(Self.spec([.conv(out: 4, kernel: 3, stride: 1, padding: 1, bias: false), .dense(out: nil)]))
        guard case .invalidLayer(let index, let reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(index == 1)
        #expect(reason.contains("flat"))
    }

    @Test func spatialLayersAfterFlatten() {
        for (layer, index) in [(LayerSpec.conv(out: 2, kernel: 1, stride: 1, padding: 0, bias: false), 1), (.batchNorm, 1),
                               (.maxPool(kernel: 2, stride: 2, padding: 0), 1), (.globalAvgPool, 1),
                               (.residual(out: 2, stride: 1), 1)] {
            let error = Self.buildError(Self.spec([.globalAvgPool, layer, .dense(out: nil)]))
            #expect(error.map { if case .invalidLayer(index, _) = $0 { true } else { false } } == true, "\(layer): \(String(describing: error))")
        }
    }

    @Test func invalidLayerParameters() {
        let cases: [LayerSpec] = [
            .conv(out: 0, kernel: 3, stride: 1, padding: 1, bias: false), .conv(out: 2, kernel: 3, stride: 0, padding: 1, bias: false),
            .conv(out: 2, kernel: 3, stride: 1, padding: -1, bias: false), .maxPool(kernel: 2, stride: 2, padding: 2),
            .maxPool(kernel: 0, stride: 1, padding: 0), .dropout(rate: 1), .dropout(rate: -0.1), .residual(out: 0, stride: 1),
        ]
        for layer in cases {
            let error = Self.buildError(Self.spec([layer, .globalAvgPool, .dense(out: nil)]))
            #expect(error.map { if case .invalidLayer(0, _) = $0 { true } else { false } } == true, "\(layer): \(String(describing: error))")
        }
        let dense = Self.buildError(Self.spec([.globalAvgPool, .dense(out: 0), .dense(out: nil)]))
        #expect(dense.map { if case .invalidLayer(1, _) = $0 { true } else { false } } == true)
    }

    /// Downsampling past a single pixel: the window no longer fits and the output is empty.
    @Test(arguments: [
        [LayerSpec.maxPool(kernel: 2, stride: 2, padding: 0), .maxPool(kernel: 2, stride: 2, padding: 0),
         .maxPool(kernel: 2, stride: 2, padding: 0), .maxPool(kernel: 2, stride: 2, padding: 0)],             // 8→4→2→1→∅
        [.conv(out: 4, kernel: 3, stride: 2, padding: 0, bias: false), .conv(out: 4, kernel: 3, stride: 2, padding: 0, bias: false),
         .conv(out: 4, kernel: 3, stride: 2, padding: 0, bias: false)],                                           // 8→3→1→∅
        [.conv(out: 4, kernel: 9, stride: 1, padding: 0, bias: false)],                                           // 9×9 on 8×8
        [.maxPool(kernel: 2, stride: 2, padding: 0), .maxPool(kernel: 2, stride: 2, padding: 0),
         .maxPool(kernel: 2, stride: 2, padding: 0), .conv(out: 4, kernel: 3, stride: 1, padding: 0, bias: false)], // 3×3 on 1×1
    ])
    func tooManyDownsamplings(layers: [LayerSpec]) {
        let error = Self.buildError(Self.spec(layers + [.globalAvgPool, .dense(out: nil)]))
        guard case .emptyOutput(let index, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(index == layers.count - 1)
        #expect(error!.description.contains("empty"))
    }

    @Test func noClassifier() {
        #expect(Self.buildError(Self.spec([.globalAvgPool])) == .noClassifier)
        #expect(Self.buildError(Self.spec([.globalAvgPool, .dense(out: 5)], labels: 3)) == .noClassifier)
        #expect(Self.buildError(Self.spec([.globalAvgPool, .dense(out: nil), .relu])) == .noClassifier)
        #expect(Self.buildError(Self.spec([])) == .noClassifier)
        // dense(out: n) with n == classCount is a classifier too.
        #expect(Self.buildError(Self.spec([.globalAvgPool, .dense(out: 3)], labels: 3)) == nil)
    }

    @Test func invalidInput() {
        let head: [LayerSpec] = [.globalAvgPool, .dense(out: nil)]
        let cases: [ModelSpec] = [
            Self.spec(head, mean: [0, 0]),
            Self.spec(head, std: [1, 1, 1, 1]),
            Self.spec(head, std: [1, 0, 1]),
            Self.spec(head, std: [1, -1, 1]),
            Self.spec(head, labels: 0),
            Self.spec(head, size: 0),
            Self.spec(head, channels: 0),
        ]
        for spec in cases {
            let error = Self.buildError(spec)
            #expect(error.map { if case .invalidInput = $0 { true } else { false } } == true, "\(spec.input): \(String(describing: error))")
        }
    }

    // MARK: Built-in architectures

    /// torchvision's resnet18 has 11,689,512 parameters at 1000 classes; BatchNorm running statistics
    /// (4,800 channels × mean and variance) are state, not parameters.
    @Test func resnet18ParameterCount() throws {
        let network = try Network(spec: ModelSpec.resnet18(labels: labels(1000)))
        #expect(network.parameters.parameterCount == 11_689_512)
        #expect(network.parameters.state.count == 2 * 4_800)
        #expect(network.embeddingSize == 512)
        #expect(network.layerSummary.map(\.output) == [
            "[64x112x112]", "[64x112x112]", "[64x112x112]", "[64x56x56]",
            "[64x56x56]", "[64x56x56]", "[128x28x28]", "[128x28x28]", "[256x14x14]", "[256x14x14]",
            "[512x7x7]", "[512x7x7]", "[512]", "[1000]",
        ])
        // The three stage-opening blocks after the first carry projection shortcuts, as in torchvision.
        let shortcuts = network.parameters.entries.filter { $0.name.hasSuffix("shortcut.conv.weight") }.map(\.shape)
        #expect(shortcuts == [[128, 64, 1, 1], [256, 128, 1, 1], [512, 256, 1, 1]])
        // He initialisation: conv weights have std √(2/fan-in), BatchNorm starts as identity.
        let stem = try #require(network.parameters.values(of: "layers.0.weight"))
        let std = (stem.reduce(0) { $0 + Double($1) * Double($1) } / Double(stem.count)).squareRoot()
        #expect(abs(std - (2.0 / 147).squareRoot()) < 0.05 * (2.0 / 147).squareRoot())
        #expect(network.parameters.values(of: "layers.1.weight")!.allSatisfy { $0 == 1 })
        #expect(network.parameters.values(of: "layers.1.running_var")!.allSatisfy { $0 == 1 })
    }

    @Test func sceneSBuildsAndRuns() throws {
        let network = try Network(spec: ModelSpec.sceneS(labels: labels(4)))
        // 3·32·9 + 32·32·9 + 32·64·9 + 64·64·9 + 64·128·9 + 128·128·9 conv weights, 2·(32+32+64+64+128+128) BN, 128·4+4 head.
        let convs = 9 * (3 * 32 + 32 * 32 + 32 * 64 + 64 * 64 + 64 * 128 + 128 * 128)
        #expect(network.parameters.parameterCount == convs + 2 * (2 * 32 + 2 * 64 + 2 * 128) + 128 * 4 + 4)
        #expect(network.embeddingSize == 128)
        let x = uniformArray(network.inputShape.size, seed: 71)
        let logits = network.logits(x, batch: 1)
        #expect(logits.count == 4 && logits.allSatisfy { $0.isFinite })
    }

    @Test func seedsAreReproducible() throws {
        let spec = NetworkTests.residualSpec()
        let a = try Network(spec: spec, seed: 3), b = try Network(spec: spec, seed: 3), c = try Network(spec: spec, seed: 4)
        #expect(bitPatterns(a.valueArray()) == bitPatterns(b.valueArray()))
        #expect(a.valueArray() != c.valueArray())
    }
}
