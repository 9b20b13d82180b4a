import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Retraining
import Serving
import Testing
@testable import BoundaryServer

/// Feedback that says two things, says too much, reuses a key or comes too fast is refused whole;
/// admins list, release and discard quarantined feedback.
@Suite struct FeedbackAdminEndToEndTests {
    static func server(maxReferences: Int = 1000, quota: UserQuota? = nil) async throws -> TestServer {
        try await TestServer(learning: LearningLoopConfiguration(intake: IntakePolicy(maxReferences: maxReferences, quota: quota)))
    }

    static func ids<T: ClientTransport>(_ client: BoundaryClient<T>, _ count: Int, seed: UInt64) async throws -> [String] {
        var ids: [String] = []
        for n in 0..<count { ids.append(try await client.predict(image: try Fixtures.png(seed: seed + UInt64(n))).imageID) }
        return ids
    }

    @Test func contradictoryOversizedAndReusedSubmissionsAreRefused() async throws {
        let server = try await Self.server(maxReferences: 3)
        try await server.withInProcessClient { client in
            let ids = try await Self.ids(client, 4, seed: 70)
            func code(kept: [String] = [], deselected: [String] = [], corrections: [(String, String)] = [],
                      key: String = "k") async -> RPCError.Code? {
                await statusCode {
                    _ = try await client.submitFeedback(
                        label: "circle", kept: kept.map { .id($0) }, deselected: deselected.map { .id($0) },
                        corrections: corrections.map { id, label in
                            var correction = Boundary_V1_Correction()
                            correction.image = .id(id)
                            correction.label = label
                            return correction
                        }, idempotencyKey: key)
                }
            }
            #expect(await code(kept: [ids[0]], deselected: [ids[0]]) == .invalidArgument)
            #expect(await code(deselected: [ids[1]], corrections: [(ids[1], "circle")]) == .invalidArgument)
            #expect(await code(kept: [ids[2]], corrections: [(ids[2], "square")]) == .invalidArgument)
            #expect(await code(kept: Array(ids.prefix(4))) == .invalidArgument, "4 references over a limit of 3")
            #expect(try await client.queue().total == 0, "nothing stored")
            #expect(await code(kept: [ids[0]], deselected: [ids[1]], corrections: [(ids[1], "square")]) == nil)
            #expect(await code(kept: [ids[0]], deselected: [ids[1]], corrections: [(ids[1], "square")]) == nil, "a retry")
            #expect(await code(kept: [ids[0], ids[2]]) == .alreadyExists, "the same key with other content")
            #expect(try await client.queue().total == 3)
        }
    }

    /// A named token speaks for its reviewer: feedback is recorded as the token's name, another
    /// user_id is refused (so quotas and the screen cannot be dodged by inventing ids), and only
    /// an admin token records feedback for someone else; anonymous tokens work as before.
    @Test func namedTokensSpeakForTheirReviewer() async throws {
        let eve = "eve-token-0123456789abcdef", ops = "ops-token-0123456789abcdef", anonymous = "anon-token-0123456789abcdef"
        let tokens = try AccessTokens.parse("eve=feedback:\(eve)\nops=admin:\(ops)\nfeedback:\(anonymous)\n")
        let server = try await TestServer(tokens: tokens,
                                          learning: LearningLoopConfiguration(intake: IntakePolicy(quota: UserQuota(samples: 3, window: 3600))))
        try await server.withInProcessClient(token: ops) { admin in
            let ids = try await Self.ids(admin, 7, seed: 90)
            let asEve = admin.authenticated(as: eve)
            _ = try await asEve.submitFeedback(label: "circle", kept: [.id(ids[0]), .id(ids[1])], idempotencyKey: "e1")
            let impersonation = await statusCode {
                _ = try await asEve.submitFeedback(label: "circle", kept: [.id(ids[2])], userID: "mallory", idempotencyKey: "e2")
            }
            #expect(impersonation == .permissionDenied)
            _ = try await asEve.submitFeedback(label: "circle", kept: [.id(ids[2])], userID: "eve", idempotencyKey: "e3")
            let overQuota = await statusCode {
                _ = try await asEve.submitFeedback(label: "circle", kept: [.id(ids[3])], idempotencyKey: "e4")
            }
            #expect(overQuota == .resourceExhausted, "all three samples were counted as eve's")
            _ = try await admin.authenticated(as: anonymous)
                .submitFeedback(label: "circle", kept: [.id(ids[4])], userID: "someone", idempotencyKey: "a1")
            _ = try await admin.submitFeedback(label: "circle", kept: [.id(ids[5])], userID: "imported", idempotencyKey: "o1")
            _ = try await admin.submitFeedback(label: "circle", kept: [.id(ids[6])], idempotencyKey: "o2")
            func discarded(_ user: String) async throws -> UInt32 {
                var selection = Boundary_V1_FeedbackSelection()
                selection.userID = user
                return try await admin.discardFeedback(selection).samples
            }
            var counts: [String: UInt32] = [:]
            for user in ["eve", "mallory", "someone", "imported", "ops"] { counts[user] = try await discarded(user) }
            #expect(counts == ["eve": 3, "mallory": 0, "someone": 1, "imported": 1, "ops": 1])
        }
    }

    @Test func aUserPastTheQuotaIsToldToComeBackLater() async throws {
        let server = try await Self.server(quota: UserQuota(samples: 3, window: 3600))
        try await server.withInProcessClient { client in
            let ids = try await Self.ids(client, 5, seed: 80)
            _ = try await client.submitFeedback(label: "circle", kept: ids.prefix(3).map { .id($0) }, userID: "eve", idempotencyKey: "a")
            let error = await statusCode {
                _ = try await client.submitFeedback(label: "circle", kept: [.id(ids[3])], userID: "eve", idempotencyKey: "b")
            }
            #expect(error == .resourceExhausted)
            let other = try await client.submitFeedback(label: "circle", kept: [.id(ids[4])], userID: "ana", idempotencyKey: "c")
            #expect(other.accepted == 1, "quotas are per user")
        }
    }

    @Test func unknownRetrainModesAndBadSelectionsAreInvalid() async throws {
        let server = try await Self.server()
        try await server.withInProcessClient { client in
            var request = Boundary_V1_RetrainRequest()
            request.mode = .UNRECOGNIZED(7)
            #expect(await statusCode { _ = try await client.retrain(request) } == .invalidArgument)
            request.mode = .head
            request.confidence = 1.5
            #expect(await statusCode { _ = try await client.retrain(request) } == .invalidArgument)
            var selection = Boundary_V1_FeedbackSelection()
            #expect(await statusCode { _ = try await client.releaseFeedback(selection) } == .invalidArgument, "neither")
            selection.eventIds = [1]
            selection.userID = "eve"
            #expect(await statusCode { _ = try await client.discardFeedback(selection) } == .invalidArgument, "both")
        }
    }

    @Test func quarantinedFeedbackIsListedReleasedAndDiscarded() async throws {
        let server = try await Self.server()
        try await server.withInProcessClient { client in
            let ids = try await Self.ids(client, 6, seed: 90)
            let eve = try await client.submitFeedback(label: "circle", kept: ids.prefix(3).map { .id($0) }, userID: "eve",
                                                      idempotencyKey: "eve")
            let ana = try await client.submitFeedback(label: "square", kept: ids.suffix(3).map { .id($0) }, userID: "ana",
                                                      idempotencyKey: "ana")
            let moved = try server.builder.feedback.store.quarantine(model: "tiny", .user("eve"), verdict: "refused: a test verdict")
            #expect(moved == 3)
            let listed = try await client.quarantine()
            #expect(listed.model == "tiny" && listed.events.count == 1)
            #expect(listed.events[0].eventID == UInt64(eve.eventID) && listed.events[0].userID == "eve")
            #expect(listed.events[0].verdict == "refused: a test verdict" && listed.events[0].samples == 3)
            var queue = try await client.queue()
            #expect(queue.quarantined == 3 && queue.pending + queue.heldOut == 3)
            var selection = Boundary_V1_FeedbackSelection()
            selection.userID = "eve"
            #expect(try await client.releaseFeedback(selection).samples == 3)
            #expect(try await client.quarantine().events.isEmpty)
            selection = Boundary_V1_FeedbackSelection()
            selection.eventIds = [UInt64(ana.eventID)!]
            #expect(try await client.discardFeedback(selection).samples == 3)
            queue = try await client.queue()
            #expect(queue.quarantined == 0 && queue.discarded == 3 && queue.pending + queue.heldOut == 3)
        }
    }
}
