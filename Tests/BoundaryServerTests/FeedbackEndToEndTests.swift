import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Retraining
import Serving
import Testing
@testable import BoundaryServer

/// SubmitFeedback and GetQueue through the real services and the SQLite store.
@Suite struct FeedbackEndToEndTests {
    @Test func lassoFeedbackByIdAndBytesIsQueued() async throws {
        let server = try await TestServer()
        let images = try (0..<4).map { try Fixtures.jpeg(seed: UInt64($0) + 20) }
        try await server.withInProcessClient { client in
            var ids: [String] = []
            for image in images.prefix(3) { ids.append(try await client.predict(image: image).imageID) }
            var correction = Boundary_V1_Correction()
            correction.image = .bytes(images[3])  // Never predicted: sent inline.
            correction.label = "triangle"
            let reply = try await client.submitFeedback(
                label: "circle", kept: [.id(ids[0]), .id(ids[1])], deselected: [.id(ids[2])],
                corrections: [correction], userID: "ana", idempotencyKey: "selection-1")
            #expect(reply.accepted == 4 && reply.duplicates == 0 && !reply.replayed)
            let heldOut = (ids + [Predictor.imageID(of: images[3])]).filter(EvaluationSplit.isHeldOut).count
            #expect(reply.queueDepth == UInt64(4 - heldOut), "the evaluation share is held out, not pending")
            let queue = try await client.queue()
            #expect(queue.model == "tiny" && queue.pending + queue.heldOut == 4 && queue.total == 4 && queue.events == 1)
            let counted = queue.labels.reduce(0) { $0 + $1.positive + $1.negative + $1.corrected }
            #expect(counted == queue.pending, "per-label counts cover the pending samples")

            let retry = try await client.submitFeedback(
                label: "circle", kept: [.id(ids[0]), .id(ids[1])], deselected: [.id(ids[2])],
                corrections: [correction], userID: "ana", idempotencyKey: "selection-1")
            #expect(retry.replayed && retry.eventID == reply.eventID, "a retry is acknowledged once")
            // Predict's embeddings are stored with the feedback (none for the image sent inline).
            let stored = try server.builder.feedback.store.embeddings(
                model: "tiny", version: 2, keys: ids + [Predictor.imageID(of: images[3])])
            #expect(Set(stored.keys) == Set(ids) && stored.values.allSatisfy { $0.count == 16 })
            #expect(try await client.queue().total == 4, "and never counted twice")
        }
    }

    /// One bad part fails the whole selection with its own status, and nothing is stored.
    @Test func badSelectionsAreRefusedWhole() async throws {
        let server = try await TestServer()
        let image = try Fixtures.png(seed: 30)
        try await server.withInProcessClient { client in
            let known = try await client.predict(image: image).imageID
            let unknown = String(repeating: "ab", count: 32)
            func submit(label: String = "circle", kept: [Boundary_V1_ImageRef], key: String = "k") async -> RPCError.Code? {
                await statusCode { _ = try await client.submitFeedback(label: label, kept: kept, idempotencyKey: key) }
            }
            #expect(await submit(kept: [.id(known), .id(unknown)]) == .notFound)
            #expect(await submit(label: "hexagon", kept: [.id(known)]) == .invalidArgument)
            #expect(await submit(kept: [.id(known)], key: "") == .invalidArgument)
            #expect(await submit(kept: [.id("not-a-hash")]) == .invalidArgument)
            #expect(await submit(kept: [.bytes(Data("not an image".utf8))]) == .invalidArgument)
            #expect(await submit(kept: []) == .invalidArgument)
            #expect(try await client.queue().total == 0, "nothing partially applied")
            #expect(try await client.submitFeedback(label: "circle", kept: [.id(known)], idempotencyKey: "k").accepted == 1)
            #expect(await statusCode { _ = try await client.queue(model: "nope") } == .notFound)
        }
    }

    /// Acknowledged feedback is in the data directory: a new server on it finds every sample,
    /// and images stored with feedback can be named by id after the restart.
    @Test func feedbackSurvivesARestart() async throws {
        let first = try await TestServer()
        let image = try Fixtures.jpeg(seed: 40)
        let id = try await first.withInProcessClient { client in
            let id = try await client.predict(image: image).imageID
            _ = try await client.submitFeedback(label: "square", deselected: [.id(id)], idempotencyKey: "before-restart")
            return id
        }
        let second = try await TestServer(dataDirectory: first.builder.configuration.dataDirectory)
        try await second.withInProcessClient { client in
            #expect(try await client.queue().total == 1)
            let reply = try await client.submitFeedback(label: "circle", kept: [.id(id)], idempotencyKey: "after-restart")
            #expect(reply.accepted == 1, "the image bytes were stored with the first feedback")
        }
    }
}
