import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import DemoData
import Foundation
import GRPCCore
import Serving
import Synchronization
import Testing
@testable import BoundaryServer
@testable import Retraining
@testable import Serving

/// The whole loop in-process: predict demo images, submit lasso feedback, retrain, promote (or not).
@Suite struct RetrainEndToEndTests {
    /// Lasso feedback the way the site collected it: for each label L, the images the model put in
    /// L are selected; those truly L are kept, the rest deselected. `poisoned` flips both.
    static func submitLassoFeedback<T: ClientTransport>(_ client: BoundaryClient<T>, count: Int, poisoned: Bool = false,
                                                        keyPrefix: String) async throws -> Int {
        var groups: [String: (kept: [Boundary_V1_ImageRef], deselected: [Boundary_V1_ImageRef])] = [:]
        for sample in DemoFixtures.dataset.samples(.test, count: count) {
            let reply = try await client.predict(image: try DemoFixtures.png(sample), topK: 1)
            let predicted = reply.labels[0].label
            let truth = DemoFixtures.labels[sample.label]
            let reference = Boundary_V1_ImageRef.id(reply.imageID)
            if (truth == predicted) != poisoned { groups[predicted, default: ([], [])].kept.append(reference) }
            else { groups[predicted, default: ([], [])].deselected.append(reference) }
        }
        var deselected = 0
        for (label, group) in groups.sorted(by: { $0.key < $1.key }) {
            _ = try await client.submitFeedback(label: label, kept: group.kept, deselected: group.deselected,
                                                idempotencyKey: "\(keyPrefix)-\(label)")
            deselected += group.deselected.count
        }
        return deselected
    }

    static func request(_ mode: Boundary_V1_RetrainRequest.Mode = .head, epochs: UInt32 = 0, dryRun: Bool = false,
                        minSamples: UInt32 = 0) -> Boundary_V1_RetrainRequest {
        var request = Boundary_V1_RetrainRequest()
        request.mode = mode
        request.epochs = epochs
        request.dryRun = dryRun
        request.minNewSamples = minSamples
        return request
    }

    @Test(arguments: [Boundary_V1_RetrainRequest.Mode.head, .full])
    func honestFeedbackIsLearnedAndPromoted(mode: Boundary_V1_RetrainRequest.Mode) async throws {
        let server = try await TestServer(dataDirectory: try DemoFixtures.dataDirectory())
        try await server.withInProcessClient { client in
            let deselected = try await Self.submitLassoFeedback(client, count: 160, keyPrefix: "honest")
            #expect(deselected > 0, "the model must make mistakes for the test to mean anything")
            let phases = Mutex<[String]>([])
            let last = try await client.retrain(Self.request(mode, epochs: mode == .head ? 40 : 6)) { update in
                phases.withLock { $0.append(update.phase) }
            }
            let result = last.result
            #expect(last.phase == "done", "\(last.error)")
            #expect(phases.withLock { $0.first } == "queued" && phases.withLock { $0.contains("training") })
            #expect(result.after.boundarySamples > 0)
            #expect(result.after.boundaryAccuracy > result.before.boundaryAccuracy, "\(result.reason)")
            #expect(result.promoted, "\(result.reason)")
            #expect(result.candidateVersion == 2 && result.parentVersion == 1)
            #expect(result.replaySamples > 0 && result.feedbackSamples > 0)
            #expect(try await client.model(named: "demo").servingVersion == 2, "the candidate serves at once")
            let info = try await client.model(named: "demo")
            #expect(info.versions.last?.lineage["mode"] == (mode == .head ? "head" : "full"))
            #expect(info.versions.last?.lineage["training_set_sha256"]?.count == 64)
            // A head-only candidate shares the parent's backbone (and its cached embeddings).
            #expect(info.versions.last?.lineage["backbone_version"] == (mode == .head ? "1" : nil))
            #expect(result.evaluationFeedback > 0 && result.evaluationBase > 0, "held-out feedback joins the evaluation set")
            let queue = try await client.queue()
            #expect(queue.pending == 0 && queue.consumed == UInt64(result.feedbackSamples), "the queue drains: trained samples are consumed")
            #expect(queue.heldOut == UInt64(result.evaluationFeedback), "held-out samples stay in the evaluation set")
        }
    }

    @Test func labelFlippedBatchIsRefusedByTheGate() async throws {
        let server = try await TestServer(dataDirectory: try DemoFixtures.dataDirectory())
        try await server.withInProcessClient { client in
            _ = try await Self.submitLassoFeedback(client, count: 160, poisoned: true, keyPrefix: "poison")
            let last = try await client.retrain(Self.request(.head, epochs: 40))
            #expect(last.phase == "done")
            #expect(!last.result.promoted)
            // Screened out before training, or trained on and refused by the gate: either way quarantined.
            #expect(last.result.reason.hasPrefix("refused:") || last.result.reason.contains("quarantined by the screen"),
                    "\(last.result.reason)")
            #expect(last.result.quarantinedSamples > 0)
            #expect(try await client.model(named: "demo").servingVersion == 1)
            let queue = try await client.queue()
            #expect(queue.pending == 0 && queue.quarantined > 0, "refused feedback does not come back")
            #expect(try await client.quarantine().events.count > 0)
        }
    }

    @Test func dryRunAndMinimumNeverPromote() async throws {
        let server = try await TestServer(dataDirectory: try DemoFixtures.dataDirectory())
        try await server.withInProcessClient { client in
            _ = try await Self.submitLassoFeedback(client, count: 80, keyPrefix: "dry")
            let tooFew = try await client.retrain(Self.request(minSamples: 10_000))
            #expect(!tooFew.result.promoted && tooFew.result.reason.contains("10000 required"))
            let dry = try await client.retrain(Self.request(.full, epochs: 1, dryRun: true))
            #expect(!dry.result.promoted && dry.result.candidateVersion == 0)
            #expect(dry.result.reason.contains("dry run") || dry.result.reason.hasPrefix("refused:"))
            #expect(try await client.model(named: "demo").versions.count == 1, "nothing registered")
            #expect(try await client.queue().pending > 0, "nothing consumed")
        }
    }

    /// One retrain per model: a second request while the first is queued or running gets
    /// ALREADY_EXISTS naming the running job, and WatchRetrain follows that job to its end.
    @Test func oneRetrainAtATime() async throws {
        let server = try await TestServer(dataDirectory: try DemoFixtures.dataDirectory())
        try await server.withInProcessClient { client in
            _ = try await Self.submitLassoFeedback(client, count: 40, keyPrefix: "once")
            let first = try await server.builder.retrains.start(RetrainOptions(mode: .full(unfreeze: nil), epochs: 3))
            #expect(await statusCode { _ = try await client.retrain(Self.request()) } == .alreadyExists)
            let watched = try await client.watchRetrain()
            #expect(watched.jobID == first.id && watched.phase == "done")
            #expect(try await client.retrain(Self.request(minSamples: 10_000)).phase == "done", "free again")
            let queue = try await client.queue()
            #expect(queue.hasLastRetrain && queue.lastRetrain.phase == "done")
            #expect(queue.lastRetrain.result.reason.contains("10000 required"), "GetQueue reports the last retrain")
            #expect(queue.nextRetrainAt.isEmpty, "no schedule configured")
        }
    }

    /// A serving-only replica (`--role serve`) predicts and takes feedback but never retrains:
    /// Retrain gets FAILED_PRECONDITION naming the trainer, and a configured schedule does not run.
    @Test func servingReplicasLeaveRetrainsToTheTrainer() async throws {
        var learning = LearningLoopConfiguration(schedule: .init(interval: .seconds(1), minSamples: 1, options: RetrainOptions()))
        learning.role = .serve
        let server = try await TestServer(learning: learning)
        #expect(!server.builder.loop.services.contains { $0 is RetrainSchedule }, "the trainer runs the schedule")
        try await server.withInProcessClient { client in
            do {
                _ = try await client.retrain(Self.request())
                Issue.record("a serving replica started a retrain")
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition && error.message.contains("--role train"))
            }
        }
    }

    /// The scheduled loop starts a retrain only once the queue holds the minimum.
    @Test func scheduleRespectsTheMinimum() async throws {
        let server = try await TestServer(dataDirectory: try DemoFixtures.dataDirectory())
        let builder = server.builder
        try await server.withInProcessClient { client in
            let schedule = RetrainSchedule(coordinator: builder.retrains, host: builder.host, store: builder.feedback.store,
                                           interval: .milliseconds(10), minSamples: 30,
                                           template: RetrainOptions(mode: .head, epochs: 5, dryRun: true), logger: builder.logger)
            let image = try DemoFixtures.png(DemoFixtures.dataset.sample(.test, index: 0))
            _ = try await client.submitFeedback(label: DemoFixtures.labels[0], kept: [.bytes(image)], idempotencyKey: "one")
            #expect(await schedule.tick().isEmpty, "1 pending sample is under the minimum of 30")
            _ = try await Self.submitLassoFeedback(client, count: 60, keyPrefix: "more")
            let jobs = await schedule.tick()
            #expect(jobs.count == 1 && jobs[0].last?.phase == .done)
        }
    }
}
