import BoundaryTestSupport
import DemoData
import FeedbackStore
import Foundation
import Imaging
import NeuralNet
import Testing
import Training
@testable import Retraining
@testable import Serving

@Suite struct TrainingSetBuilderTests {
    /// A model trained from an ImageFolder replays that folder's train split, spread over the
    /// classes, and tops up its evaluation set with an equal share of each class's validation images.
    @Test func imageFolderModelsReplayAndEvaluateOnTheirOwnData() throws {
        let root = try Fixtures.temporaryDirectory()
        let folder = root.appendingPathComponent("data")
        try DemoFixtures.dataset.writeImageFolder(to: folder, counts: [.train: 40, .val: 12]) { rgb, width, height in
            (try PNGEncoder.encode(pixels: rgb, width: width, height: height, channels: .rgb), "png")
        }
        let model = root.appendingPathComponent("model")
        let network = try Network(spec: Fixtures.tinySpec(labels: DemoFixtures.labels), seed: 2)
        try ModelDirectory.write(network, to: model, training: TrainingRecord(dataSource: .imageFolder(path: folder.path)))
        let store = try SQLiteFeedbackStore(path: root.appendingPathComponent("f.sqlite").path)
        let builder = TrainingSetBuilder(spec: network.spec, modelDirectory: model, store: store)
        let replay = try builder.replayItems(count: 20)
        #expect(replay.count == 20 && replay.allSatisfy { if case .folder = $0.key { true } else { false } })
        let replayedClasses = Set(replay.map { item -> Int in
            guard case .label(let k) = item.input.target else { return -1 }
            return k
        })
        #expect(replayedClasses.count == DemoFixtures.labels.count, "replay is spread over the classes")
        let evaluation = try builder.evaluationItems(perClass: 5)
        let perClass = Dictionary(grouping: evaluation) { item -> Int in
            guard case .label(let k) = item.input.target else { return -1 }
            return k
        }.mapValues(\.count)
        let validation = try ImageFolder(root: folder).validation
        let available = Dictionary(grouping: validation, by: \.label).mapValues(\.count)
        #expect(perClass.count == DemoFixtures.labels.count, "every class is represented")
        #expect(perClass.values.reduce(0, +) == validation.count && Set(perClass.values) == Set(available.values),
                "a share of each class, as many as the split has when it has fewer than the share")
    }

    /// Without a val/ folder, a retrain evaluates on exactly the images training held out, with the
    /// share training used (recorded in training.json), never on images it trained on.
    @Test func aRetrainHoldsOutWhatTrainingHeldOut() throws {
        let root = try Fixtures.temporaryDirectory()
        let folder = root.appendingPathComponent("data")
        try DemoFixtures.dataset.writeImageFolder(to: folder, counts: [.train: 60]) { rgb, width, height in
            (try PNGEncoder.encode(pixels: rgb, width: width, height: height, channels: .rgb), "png")
        }
        let network = try Network(spec: Fixtures.tinySpec(labels: DemoFixtures.labels), seed: 2)
        let store = try SQLiteFeedbackStore(path: root.appendingPathComponent("f.sqlite").path)
        for share in [0.1, 0.5] {
            let model = root.appendingPathComponent("model-\(share)")
            try ModelDirectory.write(network, to: model, training: TrainingRecord(dataSource: .imageFolder(path: folder.path),
                                                                               validationShare: share))
            let evaluated = Set(try TrainingSetBuilder(spec: network.spec, modelDirectory: model, store: store)
                .evaluationItems(perClass: 60).map(\.key))
            let heldOut = Set(try ImageFolder(root: folder, validationShare: share).validation.map { SampleKey.folder(path: $0.path) })
            #expect(!heldOut.isEmpty && evaluated == heldOut, "share \(share): \(evaluated.count) evaluated, \(heldOut.count) held out")
        }
        let record = try TrainingRecord.load(from: root.appendingPathComponent("model-0.5"))
        #expect(record?.validationShare == 0.5)
    }

    /// Feedback becomes inputs with the right targets; what cannot be used is reported with why,
    /// never skipped silently.
    @Test func unusableFeedbackIsReportedWithTheReason() throws {
        let root = try Fixtures.temporaryDirectory()
        let network = try Network(spec: Fixtures.tinySpec(labels: DemoFixtures.labels), seed: 2)
        let store = try SQLiteFeedbackStore(path: root.appendingPathComponent("f.sqlite").path)
        let good = try DemoFixtures.png(DemoFixtures.dataset.sample(.test, index: 0))
        let goodID = Predictor.imageID(of: good)
        let broken = Data("not an image".utf8)
        let brokenID = Predictor.imageID(of: broken)
        _ = try store.record(FeedbackEvent(
            model: "m", idempotencyKey: "k", userID: "u", label: DemoFixtures.labels[0],
            samples: [FeedbackSample(imageID: goodID, kind: .negative, label: DemoFixtures.labels[0]),
                      FeedbackSample(imageID: goodID, kind: .correction, label: "renamed-since"),
                      FeedbackSample(imageID: brokenID, kind: .positive, label: DemoFixtures.labels[1])],
            images: [goodID: good, brokenID: broken]))
        let samples = try store.samples(model: "m", in: [.pending, .heldOut])
        let builder = TrainingSetBuilder(spec: network.spec, modelDirectory: root, store: store)
        let (usable, unusable) = try builder.feedback(samples)
        #expect(usable.count == 1 && usable[0].input.isBoundary && usable[0].key == .image(goodID))
        #expect(usable[0].input.target == .notLabel(0))
        #expect(unusable.count == 2)
        #expect(unusable.contains { $0.reason.contains("renamed-since") })
        #expect(unusable.contains { $0.reason.hasPrefix("image cannot be decoded") })
        #expect(try builder.replayItems(count: 10).isEmpty, "no training.json: no base data")
    }
}
