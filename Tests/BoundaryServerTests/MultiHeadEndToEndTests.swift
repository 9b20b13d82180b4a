import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Testing
@testable import BoundaryServer

/// A two-head model through the whole loop: it serves a ranking per head, takes lasso feedback
/// on one head, and retrains with every head judged.
@Suite struct MultiHeadEndToEndTests {
    @Test(arguments: [Boundary_V1_RetrainRequest.Mode.head, .full])
    func aTwoHeadModelServesTakesFeedbackOnOneHeadAndRetrains(mode: Boundary_V1_RetrainRequest.Mode) async throws {
        let server = try await TestServer(dataDirectory: try MultiHeadFixtures.dataDirectory(blankHead: "tone"))
        try await server.withInProcessClient { client in
            let info = try await client.model(named: "heads")
            #expect(info.labels == ["pattern:bars-h", "pattern:bars-v", "pattern:square", "tone:dark", "tone:light"])

            // Predict: one ranking per head, each a distribution of its own labels; the primary
            // ranking is the first head's, in the qualified form feedback takes.
            var groups: [String: (kept: [Boundary_V1_ImageRef], deselected: [Boundary_V1_ImageRef])] = [:]
            var patternRight = 0
            var topPatterns: [String] = []
            for i in 0..<48 {
                let (_, pattern, tone) = MultiHeadFixtures.image(i, seed: 9)
                let reply = try await client.predict(image: try MultiHeadFixtures.png(i, seed: 9))
                #expect(reply.heads.map(\.head) == ["pattern", "tone"])
                #expect(reply.heads.map { $0.labels.count } == [3, 2])
                for head in reply.heads { #expect(abs(head.labels.map(\.score).reduce(0, +) - 1) < 1e-4) }
                #expect(reply.labels.first?.label == "pattern:" + reply.heads[0].labels[0].label)
                #expect(reply.margin == reply.heads[0].margin)
                if reply.heads[0].labels[0].index == UInt32(pattern) { patternRight += 1 }
                topPatterns.append(reply.heads[0].labels[0].label)
                // The reviewer lassoes images by their predicted tone and deselects the wrong ones.
                let predicted = reply.heads[1].labels[0].label
                let truth = MultiHeadFixtures.heads[1].labels[tone]
                if predicted == truth { groups[predicted, default: ([], [])].kept.append(.id(reply.imageID)) }
                else { groups[predicted, default: ([], [])].deselected.append(.id(reply.imageID)) }
            }
            #expect(patternRight >= 40, "the trained pattern head gets \(patternRight) of 48")
            #expect(groups.values.map(\.deselected.count).reduce(0, +) > 0, "the blank tone head must make mistakes")

            // Feedback names the head; mistakes about heads are refused with what to send.
            let anyImage = Boundary_V1_ImageRef.id(try await client.predict(image: try MultiHeadFixtures.png(0, seed: 9)).imageID)
            let noHead = await statusCode {
                _ = try await client.submitFeedback(model: "heads", label: "dark", kept: [anyImage], idempotencyKey: "x1")
            }
            #expect(noHead == .invalidArgument)
            let unknownHead = await statusCode {
                _ = try await client.submitFeedback(model: "heads", label: "dark", kept: [anyImage], idempotencyKey: "x2", head: "iso")
            }
            #expect(unknownHead == .invalidArgument)
            let otherHeadsLabel = await statusCode {
                _ = try await client.submitFeedback(model: "heads", label: "square", kept: [anyImage], idempotencyKey: "x3", head: "tone")
            }
            #expect(otherHeadsLabel == .invalidArgument)
            for (label, group) in groups.sorted(by: { $0.key < $1.key }) {
                _ = try await client.submitFeedback(model: "heads", label: label, kept: group.kept, deselected: group.deselected,
                                                    idempotencyKey: "tone-\(label)", head: "tone")
            }
            let queue = try await client.queue(model: "heads")
            #expect(queue.pending + queue.heldOut == 48)
            #expect(Set(queue.labels.map(\.label)).isSubset(of: ["tone:dark", "tone:light"]) && !queue.labels.isEmpty)

            // Retrain on it: the tone head learns from the feedback, and the gate, judging each
            // head on its own, finds the pattern head no worse.
            var request = Boundary_V1_RetrainRequest()
            request.model = "heads"
            request.mode = mode
            request.epochs = mode == .head ? 20 : 8
            if mode == .full { request.learningRate = 3e-3 }  // The blank head has everything to learn.
            let last = try await client.retrain(request)
            #expect(last.phase == "done", "\(last.error)")
            #expect(last.result.feedbackSamples > 0 && last.result.evaluationBase > 0, "\(last.result.reason)")
            #expect(last.result.promoted, "\(last.result.reason)")
            var toneRight = 0
            for (i, before) in topPatterns.enumerated() {
                let reply = try await client.predict(image: try MultiHeadFixtures.png(i, seed: 9), model: "heads")
                #expect(reply.version == 2)
                if reply.heads[1].labels[0].index == UInt32(MultiHeadFixtures.image(i, seed: 9).tone) { toneRight += 1 }
                if mode == .head { #expect(reply.heads[0].labels[0].label == before, "a head-only retrain on tone leaves pattern alone") }
            }
            // Before, the blank head said "dark" for all 48 (24 right); a full fine-tune also moves
            // the backbone under both heads and learns the new head more slowly.
            #expect(toneRight >= (mode == .head ? 44 : 36), "the retrained tone head gets \(toneRight) of 48")
        }
    }
}
