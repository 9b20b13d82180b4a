import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Testing
@testable import BoundaryServer

/// Search through the gRPC API: images predicted by anyone are found by picture and by word,
/// marks teach a word and feed the training queue, and bad requests get clear statuses.
@Suite struct SearchEndToEndTests {
    static let feedbackToken = "search-feedback-token-0123456789"
    static let predictToken = "search-predict-token-0123456789"

    /// Predicts `count` images and waits until the indexer has them all.
    static func predictAndIndex<T>(_ client: BoundaryClient<T>, count: Int) async throws -> [String] {
        var ids: [String] = []
        for seed in 0..<count {
            ids.append(try await client.predict(image: try Fixtures.png(width: 40, height: 30, seed: 500 + UInt64(seed))).imageID)
        }
        var request = Boundary_V1_FindSimilarRequest()
        request.imageID = ids.last!
        request.k = UInt32(count)
        for _ in 0..<500 {
            if let found = try? await client.findSimilar(request), found.matches.count >= count - 1 { return ids }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the indexer did not index \(count) predictions within 5 s")
        return ids
    }

    @Test func findSearchMarkListAndDelete() async throws {
        let server = try await TestServer()
        try await server.withInProcessClient { client in
            let ids = try await Self.predictAndIndex(client, count: 12)
            for _ in 0..<500 where server.metric("boundary_search_indexed_images", where: "model=\"tiny\"") != 12 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(server.metric("boundary_search_indexed_images", where: "model=\"tiny\"") == 12)
            #expect(server.metric("boundary_search_dropped_predictions_total") == 0)
            var similar = Boundary_V1_FindSimilarRequest()
            similar.imageID = ids[0]
            similar.k = 3
            let found = try await client.findSimilar(similar)
            #expect(found.model == "tiny" && found.queryImageID == ids[0] && found.matches.count == 3)
            #expect(!found.matches.contains { $0.imageID == ids[0] } && Set(found.matches.map(\.imageID)).isSubset(of: ids))
            #expect(zip(found.matches, found.matches.dropFirst()).allSatisfy { $0.score >= $1.score })

            var byBytes = Boundary_V1_FindSimilarRequest()
            byBytes.image = try Fixtures.png(width: 40, height: 30, seed: 500)
            byBytes.k = 2
            #expect(try await client.findSimilar(byBytes).queryImageID == ids[0])

            var byLabel = Boundary_V1_SearchRequest()
            byLabel.word = Fixtures.labels[1]
            byLabel.pageSize = 5
            let labelled = try await client.search(byLabel)
            #expect(labelled.kind == .classLabel && labelled.matches.count == 5 && !labelled.nextPageToken.isEmpty)

            var word = Boundary_V1_SearchRequest()
            word.word = "rusty"
            let empty = try await client.search(word)
            #expect(empty.kind == .learned && empty.matches.isEmpty && !empty.hint.isEmpty)
            var marks = Boundary_V1_MarkResultsRequest()
            marks.word = "rusty"
            marks.idempotencyKey = "round-1"
            marks.marks = [(ids[2], true), (ids[3], false)].map { id, relevant in
                var mark = Boundary_V1_ResultMark()
                mark.imageID = id
                mark.relevant = relevant
                return mark
            }
            let marked = try await client.markResults(marks)
            #expect(marked.kind == .learned && marked.rounds == 1 && !marked.replayed)
            #expect(try await client.markResults(marks).replayed)
            let learned = try await client.search(word)
            #expect(learned.rounds == 1 && !learned.matches.isEmpty)
            var reused = marks
            reused.marks = [reused.marks[0]]
            #expect(await statusCode { _ = try await client.markResults(reused) } == .alreadyExists)
            let listed = try await client.listQueries()
            #expect(listed.queries.map(\.word) == ["rusty"] && listed.queries[0].ready && listed.queries[0].relevant == 1)

            // On a class label the marks are feedback.
            var labelMarks = marks
            labelMarks.word = Fixtures.labels[0]
            labelMarks.idempotencyKey = "label-round"
            let queued = try await client.markResults(labelMarks)
            #expect(queued.kind == .classLabel && queued.queuedSamples == 2)
            #expect(try await client.queue().pending + (try await client.queue()).heldOut == 2)

            _ = try await client.deleteQuery(word: "Rusty")
            #expect(try await client.listQueries().queries.isEmpty)
            #expect(await statusCode { _ = try await client.deleteQuery(word: "rusty") } == .notFound)

            // Bad input: clear statuses.
            #expect(await statusCode { _ = try await client.findSimilar(Boundary_V1_FindSimilarRequest()) } == .invalidArgument)
            var unknown = Boundary_V1_FindSimilarRequest()
            unknown.imageID = String(repeating: "c", count: 64)
            #expect(await statusCode { _ = try await client.findSimilar(unknown) } == .notFound)
            var tooMany = similar
            tooMany.k = 5000
            #expect(await statusCode { _ = try await client.findSimilar(tooMany) } == .invalidArgument)
            var badTime = similar
            badTime.filter.seenAfter = "yesterday"
            #expect(await statusCode { _ = try await client.findSimilar(badTime) } == .invalidArgument)
            var noKey = marks
            noKey.idempotencyKey = ""
            #expect(await statusCode { _ = try await client.markResults(noKey) } == .invalidArgument)
            var badWord = word
            badWord.word = ""
            #expect(await statusCode { _ = try await client.search(badWord) } == .invalidArgument)
        }
    }

    /// Results show every client's images, and marks on a label are feedback: the feedback role.
    @Test func searchNeedsTheFeedbackRole() async throws {
        let tokens = try AccessTokens.parse("feedback:\(Self.feedbackToken)\npredict:\(Self.predictToken)\n")
        let server = try await TestServer(tokens: tokens)
        try await server.withInProcessClient(token: Self.predictToken) { client in
            let id = try await client.predict(image: try Fixtures.png(seed: 3)).imageID
            var request = Boundary_V1_FindSimilarRequest()
            request.imageID = id
            #expect(await statusCode { _ = try await client.findSimilar(request) } == .permissionDenied)
            #expect(await statusCode { _ = try await client.listQueries() } == .permissionDenied)
            let reviewer = client.authenticated(as: Self.feedbackToken)
            _ = try await Self.predictAndIndex(reviewer, count: 2)
        }
    }
}
