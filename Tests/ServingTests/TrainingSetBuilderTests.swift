import BoundaryTestSupport
import DemoData
import FeedbackStore
import Foundation
import Imaging
import NeuralNet
import Testing
import Training
@testable import Serving

@Suite struct TrainingSetBuilderTests {
    /// A model trained from an ImageFolder replays that folder's train split and is judged on its
    /// validation split, spread over every class; feedback is split 80/20 by image id.
    @Test func imageFolderModelsReplayTheirOwnData() throws {
        let root = try Fixtures.temporaryDirectory()
        let folder = root.appendingPathComponent("data")
        try DemoFixtures.dataset.writeImageFolder(to: folder, counts: [.train: 40, .val: 12]) { rgb, width, height in
            (try PNGEncoder.encode(pixels: rgb, width: width, height: height, channels: .rgb), "png")
        }
        let model = root.appendingPathComponent("model")
        let network = try Network(spec: Fixtures.tinySpec(labels: DemoFixtures.labels), seed: 2)
        try ModelDirectory.write(network, to: model, trainingInfo: ["source": folder.path])
        let store = try SQLiteFeedbackStore(path: root.appendingPathComponent("f.sqlite").path)
        let images = try (0..<20).map { try DemoFixtures.png(DemoFixtures.dataset.sample(.test, index: $0)) }
        let samples = images.map { FeedbackSample(imageID: Predictor.imageID(of: $0), kind: .negative, label: DemoFixtures.labels[0]) }
        _ = try store.record(FeedbackEvent(model: "m", idempotencyKey: "k", userID: "", label: DemoFixtures.labels[0], samples: samples,
                                           images: Dictionary(uniqueKeysWithValues: images.map { (Predictor.imageID(of: $0), $0) })))
        let builder = TrainingSetBuilder(spec: network.spec, modelDirectory: model, store: store)
        let sets = try builder.build(pending: try store.pendingSamples(model: "m"), replayRatio: 1, seed: 0)
        let heldOutFeedback = samples.filter { TrainingSetBuilder.isHeldOut($0.imageID) }.count
        #expect(sets.feedbackTrain == 20 - heldOutFeedback)
        #expect(sets.replay == sets.feedbackTrain, "replay ratio 1")
        #expect(sets.heldOut.count == heldOutFeedback + 12, "held-out feedback plus the folder's validation split")
        #expect(sets.train.count == sets.trainKeys.count && sets.heldOut.count == sets.heldOutKeys.count)
        #expect(sets.trainKeys.filter { $0.hasPrefix("folder:") }.count == sets.replay)
        let replayedClasses = Set(sets.train.suffix(sets.replay).map { sample -> Int in
            guard case .label(let k) = sample.target else { return -1 }
            return k
        })
        #expect(replayedClasses.count > 1, "replay is spread over the classes")
        let boundaryFeedback = sets.train.prefix(sets.feedbackTrain).filter(\.isBoundary).count
        #expect(boundaryFeedback == sets.feedbackTrain, "deselected feedback is boundary")
    }
}
