import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Testing
@testable import BoundaryServer

/// The review map as a t-SNE projection: computed in the background, never on the request path,
/// and placing only the images it was fitted on until the next one is ready.
@Suite struct ReviewTSNEMapTests {
    static func listing<T: ClientTransport>(_ client: BoundaryClient<T>, _ projection: Boundary_V1_Projection)
        async throws -> Boundary_V1_ListCandidatesResponse {
        var request = Boundary_V1_ListCandidatesRequest()
        request.model = "demo"
        request.pageSize = 1000
        request.projection = projection
        return try await client.listCandidates(request)
    }

    /// Asks until the map is no longer pending (each listing returns at once).
    static func settled<T: ClientTransport>(_ client: BoundaryClient<T>) async throws -> Boundary_V1_ListCandidatesResponse {
        for _ in 0..<600 {
            let page = try await listing(client, .tsne)
            if !page.mapPending { return page }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the t-SNE map was not ready within a minute")
        return try await listing(client, .tsne)
    }

    @Test func aTSNEMapIsComputedInTheBackgroundAndKeepsNeighboursTogether() async throws {
        let server = try await TestServer(dataDirectory: try DemoFixtures.dataDirectory())
        try await server.withInProcessClient { client in
            for sample in DemoFixtures.dataset.samples(.test, count: 80) {
                _ = try await client.predict(image: try DemoFixtures.png(sample), model: "demo")
            }
            let first = try await Self.listing(client, .tsne)
            #expect(first.projection == .tsne && first.mapPending, "nothing computed yet: the listing says so and returns")
            #expect(first.candidates.count == 80 && first.candidates.allSatisfy { !$0.positioned })
            #expect(first.explainedVariance.isEmpty)

            let map = try await Self.settled(client)
            #expect(map.candidates.allSatisfy { $0.positioned }, "every image the map was fitted on is placed")
            // t-SNE keeps neighbours: an image's nearest one on the map mostly shares its top label,
            // well beyond chance. The bound is not one observed layout's count: the layout moves with
            // the last bits of the embeddings (a change in a pooling sum's order took 56 to 53; chance
            // is about 21 with this model's labels).
            let points = map.candidates.map { (x: $0.x, y: $0.y, label: $0.labels.first?.label ?? "") }
            let agreeing = points.indices.filter { i in
                let nearest = points.indices.filter { $0 != i }.min { a, b in
                    hypot(points[a].x - points[i].x, points[a].y - points[i].y) < hypot(points[b].x - points[i].x, points[b].y - points[i].y)
                }!
                return points[nearest].label == points[i].label
            }.count
            // Expected matches for a neighbour drawn at random: Σ n_k (n_k − 1) / (N − 1) over labels k.
            let sizes = Dictionary(grouping: points, by: \.label).values.map(\.count)
            let chance = Double(sizes.map { $0 * ($0 - 1) }.reduce(0, +)) / Double(points.count - 1)
            #expect(Double(agreeing) >= max(2 * chance, Double(points.count) / 2),
                    "\(agreeing) of 80 nearest map neighbours share the top label (chance: \(chance))")
            // The same layout until the images change by a tenth; PCA is unaffected.
            let again = try await Self.listing(client, .tsne)
            #expect(!again.mapPending && again.candidates.map(\.x) == map.candidates.map(\.x))
            let pca = try await Self.listing(client, .pca)
            #expect(pca.projection == .pca && !pca.mapPending && pca.explainedVariance.count == 2)
            #expect(pca.candidates.allSatisfy { $0.positioned })

            // New images: the old layout is shown (they are unplaced) while the next is computed.
            for sample in DemoFixtures.dataset.samples(.val, count: 20) {
                _ = try await client.predict(image: try DemoFixtures.png(sample, split: .val), model: "demo")
            }
            let stale = try await Self.listing(client, .tsne)
            #expect(stale.candidates.count == 100 && stale.candidates.filter(\.positioned).count == 80)
            let next = try await Self.settled(client)
            #expect(next.candidates.allSatisfy { $0.positioned })
        }
    }
}
