import Foundation
import NeuralNet
import Testing
@testable import Training

@Suite struct TransferAndRegistrationTests {
    /// `--unfreeze N`: only the last N convolutional stages and the head change.
    @Test(arguments: [1, 2])
    func unfreezeKeepsEarlierStagesBitIdentical(blocks: Int) throws {
        let labels = ["bars-h", "bars-v", "square"]
        let network = try Network(spec: tinySpec(labels: labels), seed: 8)
        network.freezeAllBut(lastBlocks: blocks)
        let before = network.parameters.entries.map { network.parameters.values(of: $0.name)!.map(\.bitPattern) }
        _ = try ClassifierTrainer(network: network, config: TrainingConfig(epochs: 1, batchSize: 6, augmentation: nil, patience: nil))
            .run(train: TrainingLoopTests.dataset(perClass: 4, seed: 3), validation: DecodedImages())
        // tinySpec: layers 0-3 are stage 1 (conv, bn, relu, pool), 4-6 stage 2, 8 the head.
        for (entry, old) in zip(network.parameters.entries, before) {
            let changed = network.parameters.values(of: entry.name)!.map(\.bitPattern) != old
            let layer = Int(entry.name.split(separator: ".")[1])!
            let frozen = blocks == 1 ? layer < 4 : false
            if frozen { #expect(!changed, "\(entry.name) should be frozen") }
            if case .parameter = entry.kind, !frozen { #expect(changed, "\(entry.name) should train") }
        }
    }

    @Test func registrationAddsNumberedVersions() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let model = root.appendingPathComponent("model")
        let network = try Network(spec: tinySpec(labels: ["a", "b", "c"]), seed: 1)
        try ModelDirectory.write(network, to: model)
        let data = root.appendingPathComponent("data")
        let registry = ModelRegistry(dataDirectory: data)
        #expect(try registry.register(modelDirectory: model, name: "shapes", record: VersionRecord(lineage: ["seed": "1"])) == 1)
        #expect(try registry.servingVersion(of: "shapes") == 1)
        #expect(try registry.register(modelDirectory: model, name: "shapes", record: VersionRecord(parent: 1), promote: false) == 2)
        #expect(try registry.servingVersion(of: "shapes") == 1, "an unpromoted version does not serve")
        #expect(registry.record(of: "shapes", version: 1).lineage == ["seed": "1"])
        #expect(registry.record(of: "shapes", version: 2).parent == 1)
        let loaded = try ModelDirectory.load(data.appendingPathComponent("models/shapes/2"))
        #expect(loaded.parameters.values.array == network.parameters.values.array)
        let entries = try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("models/shapes").path)
        #expect(entries.sorted() == ["1", "2", "serving.json"], "no staging directories left behind")
        try registry.setServingVersion(2, of: "shapes")
        #expect(try registry.servingVersion(of: "shapes") == 2)
        #expect(throws: RegistryError.unknownVersion(model: "shapes", version: 7, known: [1, 2])) {
            try registry.setServingVersion(7, of: "shapes")
        }
        #expect(throws: RegistryError.invalidName("../escape")) {
            try registry.register(modelDirectory: model, name: "../escape")
        }
        // A registration killed half-way leaves a staging directory that start-up removes.
        let stale = data.appendingPathComponent("models/shapes/.staging-3-99999")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        #expect(try registry.removeStaleStaging().map(\.lastPathComponent) == [".staging-3-99999"])
        #expect(try registry.versions(of: "shapes") == [1, 2])
    }
}
