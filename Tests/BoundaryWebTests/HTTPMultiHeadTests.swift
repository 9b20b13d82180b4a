import BoundaryClient
import BoundaryTestSupport
import Foundation
import Testing

/// A multi-head model over HTTP: a ranking per head, feedback that names its head, and the same
/// refusals the gRPC API gives.
@Suite struct HTTPMultiHeadTests {
    @Test func predictionsCarryEveryHeadAndFeedbackNamesOne() async throws {
        let harness = try await WebHarness(dataDirectory: try MultiHeadFixtures.dataDirectory(epochs: 2))
        try await harness.run { http, grpc in
            let image = try MultiHeadFixtures.png(4, seed: 9)
            let predicted = try await http.call(.post, "/v1/predict?model=heads", contentType: "image/png", body: image)
            #expect(predicted.status == 200)
            let reply = try await grpc.predict(image: image, model: "heads")
            let heads = try #require(predicted.json["heads"] as? [[String: Any]])
            #expect(heads.map { $0["head"] as? String } == ["pattern", "tone"])
            for (wire, expected) in zip(heads, reply.heads) {
                let labels = try #require(wire["labels"] as? [[String: Any]])
                #expect(labels.map { $0["label"] as? String } == expected.labels.map(\.label))
                #expect((wire["margin"] as? Double).map { Float($0) } == expected.margin)
                #expect(wire["boundary"] as? Bool == expected.boundary)
            }
            #expect((predicted.json["labels"] as? [[String: Any]])?.first?["label"] as? String == reply.labels.first?.label)

            let id = try #require(predicted.json["image_id"] as? String)
            let recorded = try await http.json(.post, "/v1/feedback", [
                "model": "heads", "head": "tone", "label": "light", "kept": [["image_id": id]], "idempotency_key": "h1"])
            #expect(recorded.status == 200 && recorded.json["accepted"] as? Int == 1, "\(recorded.text)")
            let queue = try await grpc.queue(model: "heads")
            #expect(queue.total == 1 && queue.pending + queue.heldOut == 1)
            let wrongHead: [String: Any] = ["model": "heads", "head": "iso", "label": "light", "kept": [["image_id": id]],
                                            "idempotency_key": "h2"]
            try await expectSame(http.json(.post, "/v1/feedback", wrongHead), 400, await grpcFailure {
                _ = try await grpc.submitFeedback(model: "heads", label: "light", kept: [.id(id)], idempotencyKey: "h2", head: "iso")
            })
        }
    }
}
