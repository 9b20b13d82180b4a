import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import DefaultModel
import DemoData
import Imaging
import Foundation
import GRPCCore
import Serving
import Testing
import Training
@testable import BoundaryServer
@testable import Retraining

/// The loop under a lying reviewer, end to end on the demo data with the committed demo model
/// (scene-s, 10 classes): an honest round, a batch from one user with 30% of keep/deselect
/// inverted, another honest round — against the same two honest rounds alone (same seeds).
@Suite struct PoisoningEndToEndTests {
    /// The dataset the committed model was trained on (its training.json).
    static let dataset = DemoDataset(classCount: 10, imageSize: 64, overlap: 0.3, seed: 0)
    static let round = 150

    static func png(_ index: Int) throws -> Data {
        let sample = dataset.sample(.test, index: index)
        return Data(try PNGEncoder.encode(RGBImage(width: 64, height: 64, pixels: dataset.render(sample, split: .test))!))
    }

    /// Lasso feedback on test images `indices` through the served model; every tenth group of
    /// three is inverted when `inverted` (30%).
    static func lasso<T: ClientTransport>(_ client: BoundaryClient<T>, _ indices: Range<Int>, user: String, inverted: Bool,
                                          key: String) async throws {
        var groups: [String: (kept: [Boundary_V1_ImageRef], deselected: [Boundary_V1_ImageRef])] = [:]
        for index in indices {
            let reply = try await client.predict(image: try png(index), topK: 1)
            let predicted = reply.labels[0].label
            let honestKeep = dataset.classNames[dataset.sample(.test, index: index).label] == predicted
            let keep = inverted && index % 10 < 3 ? !honestKeep : honestKeep
            if keep { groups[predicted, default: ([], [])].kept.append(.id(reply.imageID)) }
            else { groups[predicted, default: ([], [])].deselected.append(.id(reply.imageID)) }
        }
        for (label, group) in groups.sorted(by: { $0.key < $1.key }) {
            _ = try await client.submitFeedback(label: label, kept: group.kept, deselected: group.deselected, userID: user,
                                                idempotencyKey: "\(key)-\(label)")
        }
    }

    static func retrain<T: ClientTransport>(_ client: BoundaryClient<T>) async throws -> Boundary_V1_RetrainResult {
        var request = Boundary_V1_RetrainRequest()
        request.mode = .head
        request.epochs = 20
        let last = try await client.retrain(request)
        #expect(last.phase == "done", "\(last.error)")
        return last.result
    }

    /// Test accuracy of the serving version on demo test images the feedback never touched.
    static func testAccuracy(_ server: TestServer) async throws -> Double {
        let snapshot = try await server.builder.host.snapshot(model: DefaultModel.name, version: .serving)
        let inputs = try (2000..<2400).map { index in
            LabelledInput(input: try ImageInput.preprocess(try png(index), spec: snapshot.preprocess),
                          target: .label(dataset.sample(.test, index: index).label), isBoundary: false)
        }
        return FineTuner.evaluate(snapshot.model, on: inputs, threads: 2).accuracy
    }

    struct Run {
        var accuracy: Double
        var results: [Boundary_V1_RetrainResult]
        var queue: Boundary_V1_QueueStatus
        var quarantine: [Boundary_V1_QuarantinedEvent]
    }

    /// Runs the rounds on a fresh server; returns the final test accuracy, every retrain result and
    /// the queue at the end.
    static func run(poisoned: Bool) async throws -> Run {
        let data = try Fixtures.temporaryDirectory()
        try ModelRegistry(dataDirectory: data).register(modelDirectory: try #require(DefaultModel.directory), name: DefaultModel.name)
        let server = try await TestServer(dataDirectory: data)
        var run = try await server.withInProcessClient { client in
            var results: [Boundary_V1_RetrainResult] = []
            try await lasso(client, 0..<round, user: "ana", inverted: false, key: "honest-1")
            results.append(try await retrain(client))
            if poisoned {
                try await lasso(client, round..<2 * round, user: "mallory", inverted: true, key: "poison")
                results.append(try await retrain(client))
            }
            try await lasso(client, 2 * round..<3 * round, user: "ana", inverted: false, key: "honest-2")
            results.append(try await retrain(client))
            return Run(accuracy: 0, results: results, queue: try await client.queue(), quarantine: try await client.quarantine().events)
        }
        run.accuracy = try await testAccuracy(server)
        return run
    }

    @Test func poisonedBatchIsScreenedOrQuarantinedAndChangesNothing() async throws {
        let honest = try await Self.run(poisoned: false)
        let poisoned = try await Self.run(poisoned: true)
        #expect(honest.results.contains { $0.promoted }, "the honest rounds must teach the model something")
        #expect(abs(poisoned.accuracy - honest.accuracy) <= 0.01,
                "test accuracy \(poisoned.accuracy) with the poisoned batch vs \(honest.accuracy) without")
        let attack = poisoned.results[1]
        let mallory = attack.users.first { $0.userID == "mallory" }
        #expect(!attack.promoted, "\(attack.reason)")
        #expect(mallory?.quarantined == true || attack.reason.hasPrefix("refused"), "\(attack.reason); \(String(describing: mallory))")
        #expect(!poisoned.quarantine.isEmpty && poisoned.quarantine.allSatisfy { $0.userID == "mallory" },
                "only the poisoned user's feedback is quarantined")
        let queue = poisoned.queue
        #expect(queue.pending == 0 && queue.training == 0, "the queue drains")
        #expect(queue.pending + queue.training + queue.heldOut + queue.consumed + queue.quarantined + queue.unusable
                + queue.discarded == queue.total, "every sample is in one state")
        for result in honest.results + poisoned.results where result.promoted {
            #expect(result.after.accuracy >= result.before.accuracy, "a promoted version is never worse than its parent: \(result.reason)")
        }
        print("poisoning: honest-only \(honest.accuracy), with the poisoned batch \(poisoned.accuracy); attack: \(attack.reason); "
              + "mallory \(mallory.map { "\($0.flagged)/\($0.contradicted) flagged, expected \($0.expectedFlags), p \($0.screenPValue)" } ?? "-")")
    }
}
