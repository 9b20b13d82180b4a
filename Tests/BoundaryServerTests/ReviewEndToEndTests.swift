import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Imaging
import Testing
@testable import BoundaryServer

/// Reviewers list what the model predicted lately, least certain first, page by page, placed on a
/// 2-D map of the embeddings, and fetch thumbnails.
@Suite struct ReviewEndToEndTests {
    static let feedbackToken = "review-feedback-token-0123456789"
    static let predictToken = "review-predict-token-0123456789"

    @Test func candidatesArePagedInMarginOrderFilteredAndPlaced() async throws {
        let server = try await TestServer()
        try await server.withInProcessClient { client in
            var predicted: [String: Boundary_V1_PredictResponse] = [:]
            for seed in 0..<13 {
                let reply = try await client.predict(image: try Fixtures.png(width: 48, height: 36, seed: 200 + UInt64(seed)))
                predicted[reply.imageID] = reply
            }
            func page(_ token: String = "", size: Int = 5, label: String = "", boundaryOnly: Bool = false,
                      order: Boundary_V1_ListCandidatesRequest.Order = .marginAscending) async throws -> Boundary_V1_ListCandidatesResponse {
                var request = Boundary_V1_ListCandidatesRequest()
                request.pageSize = UInt32(size)
                request.pageToken = token
                request.predictedLabel = label
                request.boundaryOnly = boundaryOnly
                request.order = order
                return try await client.listCandidates(request)
            }
            var listed: [Boundary_V1_Candidate] = []
            var token = ""
            repeat {
                let next = try await page(token)
                #expect(next.total == 13 && next.model == "tiny")
                listed += next.candidates
                token = next.nextPageToken
            } while !token.isEmpty
            #expect(listed.count == 13 && Set(listed.map(\.imageID)) == Set(predicted.keys), "every image once, over 3 pages")
            #expect(zip(listed, listed.dropFirst()).allSatisfy { $0.margin <= $1.margin }, "least certain first")
            for candidate in listed {
                let reply = try #require(predicted[candidate.imageID])
                #expect(candidate.margin == reply.margin && candidate.boundary == reply.boundary)
                #expect(candidate.labels.first?.label == reply.labels.first?.label && candidate.labels.count == 3)
                #expect(candidate.positioned && candidate.x.isFinite && candidate.y.isFinite)
            }
            #expect(Set(listed.map(\.x)).count > 1, "the map spreads the images out")

            let label = try #require(listed.first?.labels.first?.label)
            let filtered = try await page(size: 100, label: label)
            #expect(!filtered.candidates.isEmpty && filtered.candidates.allSatisfy { $0.labels.first?.label == label })
            #expect(Int(filtered.total) == predicted.values.filter { $0.labels.first?.label == label }.count)
            let boundary = try await page(size: 100, boundaryOnly: true)
            #expect(Int(boundary.total) == predicted.values.filter(\.boundary).count)

            let newest = try await page(size: 100, order: .newestFirst)
            #expect(newest.candidates.count == 13)
            let again = try await client.predict(image: try Fixtures.png(width: 48, height: 36, seed: 205))
            #expect(try await page(size: 1, order: .newestFirst).candidates.first?.imageID == again.imageID,
                    "a prediction made again is the newest")

            #expect(await statusCode { _ = try await page(size: 5001) } == .invalidArgument)
            #expect(await statusCode { _ = try await page("m:zz:not-a-token") } == .invalidArgument)
            let marginToken = try await page(size: 2).nextPageToken
            #expect(await statusCode { _ = try await page(marginToken, order: .newestFirst) } == .invalidArgument,
                    "a token from another order")
            #expect(await statusCode { _ = try await page(label: "no-such-label") } == .invalidArgument)
        }
    }

    @Test func thumbnailsAreSmallJPEGsOfKnownImages() async throws {
        let server = try await TestServer()
        try await server.withInProcessClient { client in
            let image = try Fixtures.png(width: 200, height: 100, seed: 9)
            let id = try await client.predict(image: image).imageID
            let thumbnail = try await client.thumbnail(imageID: id, maxSide: 64)
            #expect(thumbnail.width == 64 && thumbnail.height == 32)
            let decoded = try ImageDecoder.decode([UInt8](thumbnail.jpeg))
            #expect(decoded.width == 64 && decoded.height == 32, "a real JPEG of the stated size")
            let full = try await client.thumbnail(imageID: id, maxSide: 512)
            #expect(full.width == 200 && full.height == 100, "never enlarged")
            #expect(await statusCode { _ = try await client.thumbnail(imageID: String(repeating: "a", count: 64)) } == .notFound)
            #expect(await statusCode { _ = try await client.thumbnail(imageID: "nope") } == .invalidArgument)
            #expect(await statusCode { _ = try await client.thumbnail(imageID: id, maxSide: 4096) } == .invalidArgument)
        }
    }

    /// The listing shows every client's images: it needs the feedback role.
    @Test func reviewNeedsTheFeedbackRole() async throws {
        let tokens = try AccessTokens.parse("feedback:\(Self.feedbackToken)\npredict:\(Self.predictToken)\n")
        let server = try await TestServer(tokens: tokens)
        try await server.withInProcessClient(token: Self.predictToken) { client in
            _ = try await client.predict(image: try Fixtures.png(seed: 3))
            #expect(await statusCode { _ = try await client.listCandidates(Boundary_V1_ListCandidatesRequest()) } == .permissionDenied)
            let reviewer = client.authenticated(as: Self.feedbackToken)
            #expect(try await reviewer.listCandidates(Boundary_V1_ListCandidatesRequest()).total == 1)
        }
    }
}
