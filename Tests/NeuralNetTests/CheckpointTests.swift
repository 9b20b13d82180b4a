import Foundation
import Testing
@testable import NeuralNet
import SafeTensors

/// Saving and loading checkpoints: bit-exact round trips and named errors for bad files.
@Suite struct CheckpointTests {
    static func spec() -> ModelSpec {
        ModelSpec(name: "ckpt", input: InputSpec(channels: 3, height: 8, width: 8),
                  layers: [.conv(out: 8, kernel: 3, stride: 1, padding: 1, bias: true), .batchNorm, .relu,
                           .residual(out: 12, stride: 2), .globalAvgPool, .dense(out: 5), .relu, .dense(out: nil)],
                  labels: ["cat", "dog", "ünïcode ✓"])
    }

    /// A fresh directory per test, removed afterwards.
    final class TemporaryDirectory {
        let url: URL
        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("nn-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
        func file(_ name: String) -> URL { url.appendingPathComponent(name) }
        deinit { try? FileManager.default.removeItem(at: url) }
    }

    /// Parameters and state of `network` as bit patterns, by tensor name.
    static func snapshot(_ network: Network) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: network.parameters.entries.map { ($0.name, bitPatterns(network.parameters.values(of: $0.name)!)) })
    }

    /// Values that are awkward to round-trip: negative zero, subnormals, extremes, NaN payloads.
    static func awkward(_ network: Network) {
        let p = network.parameters.values
        p[0] = -0.0
        p[1] = Float.leastNonzeroMagnitude
        p[2] = -Float.greatestFiniteMagnitude
        p[3] = Float(bitPattern: 0x7FC0_1234)
        p[4] = .infinity
    }

    @Test func roundTripIsBitExact() throws {
        let directory = try TemporaryDirectory()
        let network = try preparedNetwork(Self.spec(), seed: 31, threads: 1, randomState: false)
        Self.awkward(network)
        let url = directory.file("model.safetensors")
        try network.save(to: url)
        let loaded = try Network(contentsOf: url, threads: 2)
        #expect(loaded.spec == network.spec)
        #expect(loaded.parameters.entries == network.parameters.entries)
        #expect(Self.snapshot(loaded) == Self.snapshot(network))
        #expect(bitPatterns(loaded.valueArray()) == bitPatterns(network.valueArray()))
        #expect(bitPatterns(loaded.stateArray()) == bitPatterns(network.stateArray()))
        #expect(network.stateArray().contains { $0 != 0 && $0 != 1 }, "sanity: the statistics were not the defaults")

        // Saving again overwrites atomically and reproduces the same bytes.
        let first = try Data(contentsOf: url)
        try loaded.save(to: url)
        #expect(try Data(contentsOf: url) == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["model.safetensors"])
    }

    @Test func loadedNetworkComputesTheSameFunction() throws {
        let directory = try TemporaryDirectory()
        let network = try preparedNetwork(Self.spec(), seed: 32, randomState: true)
        try network.save(to: directory.file("m.safetensors"))
        let loaded = try Network(contentsOf: directory.file("m.safetensors"))
        let x = uniformArray(2 * network.inputShape.size, seed: 33)
        #expect(bitPatterns(loaded.logits(x, batch: 2)) == bitPatterns(network.logits(x, batch: 2)))
    }

    /// PyTorch-style names and shapes: weight [OC, C, KH, KW], BatchNorm weight/bias/running_*.
    @Test func tensorNamesAndShapes() throws {
        let archive = try Network(spec: Self.spec()).archive()
        let expected: [String: [Int]] = [
            "layers.0.weight": [8, 3, 3, 3], "layers.0.bias": [8],
            "layers.1.weight": [8], "layers.1.bias": [8], "layers.1.running_mean": [8], "layers.1.running_var": [8],
            "layers.3.conv1.weight": [12, 8, 3, 3], "layers.3.bn1.weight": [12], "layers.3.bn1.bias": [12],
            "layers.3.bn1.running_mean": [12], "layers.3.bn1.running_var": [12],
            "layers.3.conv2.weight": [12, 12, 3, 3], "layers.3.bn2.weight": [12], "layers.3.bn2.bias": [12],
            "layers.3.bn2.running_mean": [12], "layers.3.bn2.running_var": [12],
            "layers.3.shortcut.conv.weight": [12, 8, 1, 1], "layers.3.shortcut.bn.weight": [12],
            "layers.3.shortcut.bn.bias": [12], "layers.3.shortcut.bn.running_mean": [12],
            "layers.3.shortcut.bn.running_var": [12],
            "layers.5.weight": [5, 12], "layers.5.bias": [5], "layers.7.weight": [3, 5], "layers.7.bias": [3],
        ]
        #expect(archive.tensors.mapValues(\.shape) == expected)
        #expect(archive.metadata["format"] == "pt")
        let json = try #require(archive.metadata["boundary.spec"])
        #expect(try ModelSpec.decode(Data(json.utf8)) == Self.spec())
    }

    // MARK: Corrupt and mismatching checkpoints

    /// Writes `network`'s archive after `edit` and returns the file.
    static func write(_ network: Network, in directory: TemporaryDirectory, name: String = "bad.safetensors",
                      _ edit: (inout SafeTensorsArchive) -> Void) throws -> URL {
        var archive = try network.archive()
        edit(&archive)
        let url = directory.file(name)
        try archive.write(to: url)
        return url
    }

    @Test func truncatedFile() throws {
        let directory = try TemporaryDirectory()
        let network = try Network(spec: Self.spec())
        let url = directory.file("m.safetensors")
        try network.save(to: url)
        let bytes = try Data(contentsOf: url)
        for length in [0, 5, 40, bytes.count / 2, bytes.count - 1] {
            try bytes.prefix(length).write(to: url)
            #expect(throws: SafeTensorsError.self, "cut to \(length) bytes") { try Network(contentsOf: url) }
        }
        try bytes.prefix(5).write(to: url)
        #expect(throws: SafeTensorsError.fileTooSmall(byteCount: 5)) { try Network(contentsOf: url) }
    }

    @Test func wrongShapeNamesTheTensor() throws {
        let directory = try TemporaryDirectory()
        let network = try Network(spec: Self.spec())
        let url = try Self.write(network, in: directory) { archive in
            archive.tensors["layers.3.conv2.weight"] = SafeTensor(shape: [12, 12, 1, 9], values: [Float](repeating: 0, count: 12 * 12 * 9))
        }
        let error = try #require(throws: CheckpointError.self) { try Network(contentsOf: url) }
        guard case .tensorMismatch(let path, let reason) = error else { Issue.record("got \(error)"); return }
        #expect(path == url.path)
        #expect(reason.contains("layers.3.conv2.weight"))
        #expect(reason.contains("[12, 12, 3, 3]") && reason.contains("[12, 12, 1, 9]"))
        #expect(error.description.contains("layers.3.conv2.weight"))
    }

    @Test func missingTensorNamesTheTensor() throws {
        let directory = try TemporaryDirectory()
        let network = try Network(spec: Self.spec())
        let url = try Self.write(network, in: directory) { $0.tensors["layers.1.running_var"] = nil }
        let error = try #require(throws: CheckpointError.self) { try Network(contentsOf: url) }
        guard case .tensorMismatch(_, let reason) = error else { Issue.record("got \(error)"); return }
        #expect(reason.contains("layers.1.running_var"))
    }

    @Test func unexpectedTensorIsNamed() throws {
        let directory = try TemporaryDirectory()
        let network = try Network(spec: Self.spec())
        let url = try Self.write(network, in: directory) { $0.tensors["layers.9.weight"] = SafeTensor(shape: [2], values: [1, 2]) }
        #expect(throws: CheckpointError.unexpectedTensors(path: url.path, names: ["layers.9.weight"])) { try Network(contentsOf: url) }
    }

    @Test func missingOrInvalidSpec() throws {
        let directory = try TemporaryDirectory()
        let network = try Network(spec: Self.spec())
        let missing = try Self.write(network, in: directory, name: "a.safetensors") { $0.metadata["boundary.spec"] = nil }
        #expect(throws: CheckpointError.missingSpec(path: missing.path)) { try Network(contentsOf: missing) }

        let garbage = try Self.write(network, in: directory, name: "b.safetensors") { $0.metadata["boundary.spec"] = "{not json" }
        let e1 = try #require(throws: CheckpointError.self) { try Network(contentsOf: garbage) }
        guard case .invalidSpec(let path, _) = e1 else { Issue.record("got \(e1)"); return }
        #expect(path == garbage.path)

        // Decodable JSON that does not build: the build error is reported as an invalid spec.
        var bad = Self.spec()
        bad.layers.removeLast()
        let json = String(decoding: try bad.jsonData(), as: UTF8.self)
        let unbuildable = try Self.write(network, in: directory, name: "c.safetensors") { $0.metadata["boundary.spec"] = json }
        let e2 = try #require(throws: CheckpointError.self) { try Network(contentsOf: unbuildable) }
        guard case .invalidSpec(_, let reason) = e2 else { Issue.record("got \(e2)"); return }
        #expect(reason.contains("dense"))
    }

    /// All-or-nothing: a bad archive leaves every parameter and statistic untouched, even when the
    /// bad tensor comes after good ones in declaration order.
    @Test func failedLoadLeavesNetworkUnchanged() throws {
        let target = try preparedNetwork(Self.spec(), seed: 34, randomState: true)
        let other = try preparedNetwork(Self.spec(), seed: 35, randomState: true)
        let before = Self.snapshot(target)
        let lastName = try #require(other.parameters.entries.last?.name)
        #expect(lastName == "layers.7.bias")

        var wrongShape = try other.archive()
        wrongShape.tensors[lastName] = SafeTensor(shape: [4], values: [1, 2, 3, 4])
        #expect(throws: CheckpointError.self) { try target.load(wrongShape) }
        #expect(Self.snapshot(target) == before)

        var missing = try other.archive()
        missing.tensors["layers.3.shortcut.bn.running_var"] = nil
        #expect(throws: CheckpointError.self) { try target.load(missing) }
        #expect(Self.snapshot(target) == before)

        var extra = try other.archive()
        extra.tensors["extra"] = SafeTensor(shape: [], values: [0])
        #expect(throws: CheckpointError.unexpectedTensors(path: "<memory>", names: ["extra"])) { try target.load(extra) }
        #expect(Self.snapshot(target) == before)

        // A checkpoint of a different architecture.
        var otherSpec = Self.spec()
        otherSpec.layers[0] = .conv(out: 9, kernel: 3, stride: 1, padding: 1, bias: true)
        otherSpec.layers[1] = .batchNorm
        let differentArchitecture = try Network(spec: otherSpec).archive()
        #expect(throws: CheckpointError.self) { try target.load(differentArchitecture, path: "other.safetensors") }
        #expect(Self.snapshot(target) == before)

        // And a good one does load everything.
        try target.load(other.archive())
        #expect(Self.snapshot(target) == Self.snapshot(other))
    }
}
