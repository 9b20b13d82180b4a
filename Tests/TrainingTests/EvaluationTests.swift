import Foundation
import Imaging
import NeuralNet
import Reports
import Testing
@testable import Training

@Suite struct EvaluationTests {
    /// `eval`'s numbers against a count made here, directly from the probabilities.
    @Test func metricsEqualAHandCount() throws {
        let labels = ["bars-h", "bars-v", "square"]
        let network = try Network(spec: tinySpec(labels: labels), seed: 21)
        let images = TrainingLoopTests.dataset(perClass: 5, seed: 3)
        let evaluation = Evaluation.run(network.inferenceModel(), images: images, threads: 1)
        var confusion = Array(repeating: Array(repeating: 0, count: 3), count: 3)
        for i in 0..<images.count {
            let row = Array(evaluation.predictions.row(i))
            let predicted = row.firstIndex(of: row.max()!)!
            confusion[images.labels[i]][predicted] += 1
        }
        #expect(evaluation.metrics.confusionMatrix == confusion)
        let correct = (0..<3).map { confusion[$0][$0] }.reduce(0, +)
        #expect(evaluation.accuracy == Double(correct) / 15)
        for c in 0..<3 {
            let predictedAsC = (0..<3).map { confusion[$0][c] }.reduce(0, +)
            let precision = predictedAsC == 0 ? 0 : Double(confusion[c][c]) / Double(predictedAsC)
            #expect(abs(evaluation.metrics.perClass[c].precision - precision) < 1e-12)
            #expect(abs(evaluation.metrics.perClass[c].recall - Double(confusion[c][c]) / 5) < 1e-12)
        }
    }

    @Test func reportOfATrainedModelHasEverySection() throws {
        let labels = ["bars-h", "bars-v", "square"]
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let network = try Network(spec: tinySpec(labels: labels), seed: 2)
        let train = TrainingLoopTests.dataset(perClass: 6, seed: 1), test = TrainingLoopTests.dataset(perClass: 3, seed: 50)
        let result = try ClassifierTrainer(network: network, config: TrainingConfig(epochs: 2, batchSize: 6, augmentation: nil))
            .run(train: train, validation: test)
        try ModelDirectory.write(network, to: directory, history: result.history,
                                 training: TrainingRecord(dataSource: .other("test"), bestEpoch: result.bestEpoch))
        let reloaded = try ModelDirectory.load(directory)
        let (input, evaluation) = try ReportBuilder.build(modelDirectory: directory, network: reloaded, images: test,
                                                          threads: 1, note: "test")
        #expect(input.history.count == 2)
        #expect(input.bestEpoch == result.bestEpoch)
        #expect(input.predictions.count == test.count)
        #expect(input.embeddings.count == test.count && input.embeddings[0].count == reloaded.embeddingSize)
        #expect(evaluation.metrics.total == test.count)
        // What the network sees: four test images, right and wrong ones alternating while both last.
        #expect(input.explanations.count == 4)
        let predicted = (0..<test.count).map { evaluation.predictions.predictedLabel($0) }
        let wrongCount = zip(predicted, test.labels).filter { $0 != $1 }.count
        let shownWrong = input.explanations.filter { $0.trueLabel != $0.predictedLabel }.count
        #expect(shownWrong == min(2, wrongCount), "\(shownWrong) wrong shown of \(wrongCount)")
        let spatial = reloaded.spatialLayerNames
        let early = spatial[0], middle = spatial[spatial.count / 2], last = spatial[spatial.count - 1]
        for panel in input.explanations {
            #expect(panel.layers.map(\.layer) == [early, middle, last], "an early, a middle and the last spatial layer")
            #expect(panel.layers.allSatisfy { !$0.channelPNGs.isEmpty && $0.channelPNGs.allSatisfy { $0.starts(with: [0x89, 0x50, 0x4E, 0x47]) } })
            #expect(panel.camLayer == reloaded.spatialLayerNames.last)
        }
        let html = HTMLReport.render(input)
        for section in ["id=\"summary\"", "id=\"curves\"", "id=\"confusion\"", "id=\"predictions\"", "id=\"embeddings\"",
                        "id=\"explanations\"", "data:image/png;base64,", "<svg"] {
            #expect(html.contains(section), "missing \(section)")
        }
        let none = try ReportBuilder.build(modelDirectory: directory, network: reloaded, images: test, threads: 1, note: "",
                                           explanations: 0)
        #expect(none.input.explanations.isEmpty)
    }

    /// The overlay leaves the image alone where there is no heat and tints it where there is.
    @Test func gradCAMOverlayTintsOnlyWhereTheHeatIs() throws {
        let image = try #require(RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: 40, count: 8 * 8 * 3)))
        let cold = try ReportExplanations.overlayPNG([Float](repeating: 0, count: 4), width: 2, height: 2, on: image)
        #expect(try ImageDecoder.decode([UInt8](cold)).pixels == image.pixels)
        let hot = try ImageDecoder.decode([UInt8](try ReportExplanations.overlayPNG([1, 0, 0, 0], width: 2, height: 2, on: image)))
        let red = { (x: Int, y: Int) in hot.pixels[(y * 8 + x) * 3] }
        #expect(red(0, 0) > 150, "the hot corner is tinted: \(red(0, 0))")
        #expect(red(7, 7) == 40, "the far corner is untouched")
        #expect(red(1, 1) > red(3, 3) && red(3, 3) >= red(5, 5), "the tint fades with the bilinear stretch")
    }

    @Test func modelDirectoryRoundTripsWeightsAndHistory() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let network = try Network(spec: tinySpec(labels: ["a", "b", "c"]), seed: 9)
        let history = [EpochRecord(epoch: 1, trainLoss: 1.5, trainAccuracy: 0.4, valLoss: .nan, valAccuracy: 0.5,
                                   learningRate: 1e-3, seconds: 2)]
        try ModelDirectory.write(network, to: directory, history: history)
        let loaded = try ModelDirectory.load(directory)
        #expect(loaded.parameters.values.array.map(\.bitPattern) == network.parameters.values.array.map(\.bitPattern))
        let reread = ModelDirectory.history(in: directory)
        #expect(reread.count == 1 && reread[0].valLoss!.isNaN && reread[0].valAccuracy == 0.5)
        let csv = try String(contentsOf: directory.appendingPathComponent("history.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds\n1,1.5,0.4,"))
        #expect(try String(contentsOf: directory.appendingPathComponent("labels.txt"), encoding: .utf8) == "a\nb\nc\n")
        #expect(throws: ModelDirectoryError.self) { try ModelDirectory.load(directory.appendingPathComponent("missing")) }
    }
}

@Suite struct TrainingRecordTests {
    /// training.json round-trips as a typed record, and files written before it (strings only,
    /// the data source as prose) still load.
    @Test func recordsRoundTripAndLegacyFilesLoad() throws {
        let record = TrainingRecord(dataSource: .demo(classes: 10, perClass: 500, overlap: 0.3, seed: 7), spec: "scene-s",
                                    epochs: 12, seed: 7, trainImages: 5000, validationImages: 1000, bestEpoch: 9, mode: "full")
        let decoded = try JSONDecoder().decode(TrainingRecord.self, from: try JSONEncoder().encode(record))
        #expect(decoded == record)
        let legacy = Data("""
            {"best_epoch": "9", "epochs": "10", "mode": "full", "seed": "0",
             "source": "demo(classes: 10, perClass: 500, overlap: 0.3, seed: 0)", "spec": "scene-s", "train_images": "5000"}
            """.utf8)
        let old = try JSONDecoder().decode(TrainingRecord.self, from: legacy)
        #expect(old.dataSource == .demo(classes: 10, perClass: 500, overlap: 0.3, seed: 0))
        #expect(old.bestEpoch == 9 && old.epochs == 10 && old.trainImages == 5000 && old.spec == "scene-s")
        let folder = try JSONDecoder().decode(TrainingRecord.self, from: Data(#"{"source": "/data/pets"}"#.utf8))
        #expect(folder.dataSource == .imageFolder(path: "/data/pets"))
        let odd = try JSONDecoder().decode(TrainingRecord.self, from: Data(#"{"source": "s3://bucket"}"#.utf8))
        #expect(odd.dataSource == .other("s3://bucket"))
        #expect(record.lineage["source"] == "demo(classes: 10, perClass: 500, overlap: 0.3, seed: 7)" && record.lineage["best_epoch"] == "9")
    }
}
