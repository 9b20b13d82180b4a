import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import HTTPTypes
import Testing

/// Search over HTTP answers what gRPC answers, and fails with the same status and message.
@Suite struct HTTPSearchTests {
    @Test func searchOperationsMatchTheGRPCAnswers() async throws {
        let harness = try await WebHarness()
        try await harness.run { http, grpc in
            var ids: [String] = []
            for seed in 0..<8 {
                ids.append(try await grpc.predict(image: try Fixtures.png(width: 40, height: 30, seed: 900 + UInt64(seed))).imageID)
            }
            var request = Boundary_V1_FindSimilarRequest()
            request.imageID = ids[0]
            request.k = 3
            var expected = try await grpc.findSimilar(request)
            for _ in 0..<500 where expected.matches.count < 3 {
                try await Task.sleep(for: .milliseconds(10))
                expected = try await grpc.findSimilar(request)
            }
            let similar = try await http.call(.get, "/v1/images/\(ids[0])/similar?k=3")
            #expect(similar.status == 200, "\(similar.text)")
            let matches = try #require(similar.json["matches"] as? [[String: Any]])
            #expect(matches.map { $0["image_id"] as? String } == expected.matches.map(\.imageID))
            #expect(similar.json["query_image_id"] as? String == ids[0])

            let upload = try await http.call(.post, "/v1/similar?k=2", contentType: "image/png",
                                             body: try Fixtures.png(width: 40, height: 30, seed: 900))
            #expect(upload.status == 200 && upload.json["query_image_id"] as? String == ids[0])

            let label = try await http.call(.get, "/v1/search?word=\(Fixtures.labels[1])&page_size=4")
            #expect(label.json["kind"] as? String == "class_label" && (label.json["matches"] as? [Any])?.count == 4)
            let empty = try await http.call(.get, "/v1/search?word=shiny")
            #expect(empty.json["kind"] as? String == "learned" && (empty.json["hint"] as? String)?.contains("no results yet") == true)

            let marks: [String: Any] = ["word": "shiny", "idempotency_key": "r1",
                                        "marks": [["image_id": ids[1], "relevant": true], ["image_id": ids[2], "relevant": false]]]
            let marked = try await http.json(.post, "/v1/search/marks", marks)
            #expect(marked.status == 200 && marked.json["rounds"] as? Int == 1 && marked.json["replayed"] as? Bool == false)
            #expect(try await http.json(.post, "/v1/search/marks", marks).json["replayed"] as? Bool == true)
            let learned = try await http.call(.get, "/v1/search?word=shiny&page_size=3")
            #expect(learned.json["rounds"] as? Int == 1 && (learned.json["matches"] as? [Any])?.count == 3)
            let queries = try await http.call(.get, "/v1/search/queries")
            #expect((queries.json["queries"] as? [[String: Any]])?.map { $0["word"] as? String } == ["shiny"])
            #expect(try await grpc.listQueries().queries.map(\.word) == ["shiny"])

            let deleted = try await http.call(.delete, "/v1/search/queries/shiny")
            #expect(deleted.status == 200 && deleted.json["model"] as? String == "tiny")
            let missing = try await http.call(.delete, "/v1/search/queries/shiny")
            let grpcMissing = await grpcFailure { _ = try await grpc.deleteQuery(word: "shiny") }
            #expect(missing.status == 404 && missing.json["message"] as? String == grpcMissing?.message)

            let unknown = String(repeating: "d", count: 64)
            let notIndexed = try await http.call(.get, "/v1/images/\(unknown)/similar")
            var unknownRequest = Boundary_V1_FindSimilarRequest()
            unknownRequest.imageID = unknown
            let grpcNotIndexed = await grpcFailure { _ = try await grpc.findSimilar(unknownRequest) }
            #expect(notIndexed.status == 404 && grpcNotIndexed?.code == .notFound)
            #expect(notIndexed.json["message"] as? String == grpcNotIndexed?.message)
            #expect(try await http.call(.get, "/v1/images/\(ids[0])/similar?seen_after=tomorrow").status == 400)
            #expect(try await http.call(.get, "/v1/search?word=x&page_token=zz").status == 400)
        }
    }
}
