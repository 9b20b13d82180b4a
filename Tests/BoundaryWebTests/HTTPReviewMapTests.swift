import BoundaryTestSupport
import Foundation
import Testing

/// `GET /v1/candidates?projection=tsne`: the map computed in the background, and a clear 400 for
/// a projection that does not exist.
@Suite struct HTTPReviewMapTests {
    @Test func theReviewMapCanBeATSNEProjection() async throws {
        let harness = try await WebHarness()
        try await harness.run { http, _ in
            for seed in 0..<12 {
                _ = try await http.call(.post, "/v1/predict", contentType: "image/png",
                                        body: try Fixtures.png(width: 40, height: 30, seed: 400 + UInt64(seed)))
            }
            let first = try await http.call(.get, "/v1/candidates?projection=tsne")
            #expect(first.status == 200 && first.json["projection"] as? String == "tsne")
            #expect(first.json["map_pending"] as? Bool == true)
            var ready = first
            for _ in 0..<300 where ready.json["map_pending"] as? Bool == true {
                try await Task.sleep(for: .milliseconds(100))
                ready = try await http.call(.get, "/v1/candidates?projection=tsne")
            }
            let candidates = try #require(ready.json["candidates"] as? [[String: Any]])
            #expect(ready.json["map_pending"] as? Bool == false && candidates.count == 12)
            #expect(candidates.allSatisfy { $0["x"] is Double && $0["y"] is Double })
            let pca = try await http.call(.get, "/v1/candidates")
            #expect(pca.json["projection"] as? String == "pca")
            let unknown = try await http.call(.get, "/v1/candidates?projection=umap")
            #expect(unknown.status == 400, "\(unknown.text)")
            #expect(unknown.message == "the request does not match the API (openapi/boundary.yaml): query parameter "
                    + "'projection' cannot be 'umap'; its values are listed in openapi/boundary.yaml")
        }
    }
}
