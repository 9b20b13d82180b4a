import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import HTTPTypes
import Testing

/// Every operation of the HTTP API against a live runtime: what it returns, and that each failure
/// carries the status and the very message the gRPC API gives for the same mistake.
@Suite struct HTTPAPITests {
    @Test func predictionsModelsCandidatesAndThumbnailsMatchTheGRPCAnswers() async throws {
        let harness = try await WebHarness()
        try await harness.run { http, grpc in
            let image = try Fixtures.png(width: 48, height: 36, seed: 7)
            let predicted = try await http.call(.post, "/v1/predict?top_k=2&embedding=true", contentType: "image/png", body: image)
            #expect(predicted.status == 200)
            let reply = try await grpc.predict(image: image, topK: 2)
            #expect(predicted.json["image_id"] as? String == reply.imageID)
            let labels = try #require(predicted.json["labels"] as? [[String: Any]])
            #expect(labels.map { $0["label"] as? String } == reply.labels.map(\.label))
            #expect((predicted.json["margin"] as? Double).map { Float($0) } == reply.margin)
            #expect((predicted.json["embedding"] as? [Double])?.isEmpty == false)

            let models = try await http.call(.get, "/v1/models")
            let listed = try #require(models.json["models"] as? [[String: Any]])
            #expect(listed.map { $0["name"] as? String } == ["tiny"])
            let model = try await http.call(.get, "/v1/models/tiny")
            #expect(model.json["serving_version"] as? Int == 2)
            #expect((model.json["versions"] as? [[String: Any]])?.count == 2)

            let page = try await http.call(.get, "/v1/candidates?page_size=10&order=margin")
            let candidates = try #require(page.json["candidates"] as? [[String: Any]])
            #expect(page.json["total"] as? Int == 1 && candidates.first?["image_id"] as? String == reply.imageID)
            #expect(candidates.first?["queued"] as? Int == 0)

            let thumbnail = try await http.call(.get, "/v1/images/\(reply.imageID)/thumbnail?max_side=24")
            #expect(thumbnail.status == 200 && thumbnail.headers[.contentType] == "image/jpeg")
            #expect(thumbnail.body.starts(with: [0xFF, 0xD8, 0xFF]))
            #expect(thumbnail.headers[.cacheControl]?.contains("immutable") == true)
            #expect(try await grpc.thumbnail(imageID: reply.imageID, maxSide: 24).jpeg == thumbnail.body)
        }
    }

    /// Explain by upload and by id gives the gRPC answer; a bad layer is a 400 with its message.
    @Test func explanationsMatchTheGRPCAnswers() async throws {
        let harness = try await WebHarness()
        try await harness.run { http, grpc in
            let image = try Fixtures.png(width: 40, height: 30, seed: 4)
            let uploaded = try await http.call(.post, "/v1/explain?feature_maps=2", contentType: "image/png", body: image)
            #expect(uploaded.status == 200)
            let reply = try await grpc.explain(image: image, featureMaps: 2)
            #expect(uploaded.json["image_id"] as? String == reply.imageID)
            #expect(uploaded.json["label"] as? String == reply.label && uploaded.json["layer"] as? String == reply.layer)
            let heat = try #require(uploaded.json["heat"] as? [String: Any])
            #expect((heat["values"] as? [Double])?.map { Float($0) } == reply.heat.values)
            #expect((uploaded.json["feature_maps"] as? [[String: Any]])?.count == 2)

            _ = try await grpc.predict(image: image)
            let label = Fixtures.labels[1]
            let byID = try await http.call(.get, "/v1/images/\(reply.imageID)/explanation?label=\(label)&layer=layers.0")
            #expect(byID.status == 200 && byID.json["label"] as? String == label && byID.json["layer"] as? String == "layers.0")
            try await expectSame(http.call(.get, "/v1/images/\(reply.imageID)/explanation?layer=layers.99"), 400,
                                 await grpcFailure { _ = try await grpc.explain(imageID: reply.imageID, layer: "layers.99") })
            try await expectSame(http.call(.get, "/v1/images/\(String(repeating: "0", count: 64))/explanation"), 404,
                                 await grpcFailure { _ = try await grpc.explain(imageID: String(repeating: "0", count: 64)) })
        }
    }

    @Test func feedbackIsRecordedOnceQueuedAndShownOnTheCandidates() async throws {
        let harness = try await WebHarness()
        try await harness.run { http, grpc in
            var ids: [String] = []
            for seed in 0..<4 {
                let reply = try await http.call(.post, "/v1/predict", contentType: "image/png",
                                                body: try Fixtures.png(width: 40, height: 30, seed: 30 + UInt64(seed)))
                ids.append(try #require(reply.json["image_id"] as? String))
            }
            let body: [String: Any] = [
                "label": "circle", "kept": [["image_id": ids[0]], ["image_id": ids[1]]], "deselected": [["image_id": ids[2]]],
                "corrections": [["image": ["image_id": ids[3]], "label": "square"]], "idempotency_key": "lasso-1",
            ]
            let first = try await http.json(.post, "/v1/feedback", body)
            #expect(first.status == 200 && first.json["accepted"] as? Int == 4 && first.json["replayed"] as? Bool == false)
            let again = try await http.json(.post, "/v1/feedback", body)
            #expect(again.json["replayed"] as? Bool == true && again.json["event_id"] as? String == first.json["event_id"] as? String)
            let queue = try await http.call(.get, "/v1/queue")
            #expect(queue.json["events"] as? Int == 1)
            #expect(UInt64(queue.json["total"] as? Int ?? -1) == (try await grpc.queue()).total)

            let page = try await http.call(.get, "/v1/candidates?page_size=10")
            let queued = try #require(page.json["candidates"] as? [[String: Any]]).map { $0["queued"] as? Int ?? -1 }
            #expect(queued.count == 4 && queued.allSatisfy { $0 >= 1 }, "every image named by the feedback shows as queued")

            var changed = body
            changed["label"] = "triangle"
            let reused = try await http.json(.post, "/v1/feedback", changed)
            #expect(reused.status == 409 && reused.code == "already_exists", "\(reused.text)")
        }
    }

    @Test func failuresCarryTheGRPCMessageAndAnHTTPStatus() async throws {
        let harness = try await WebHarness(maxImageBytes: 4096)
        try await harness.run { http, grpc in
            let garbage = Data("not an image".utf8)
            try await expectSame(http.call(.post, "/v1/predict", contentType: "application/octet-stream", body: garbage), 400,
                                 await grpcFailure { _ = try await grpc.predict(image: garbage) })
            let image = try Fixtures.png(width: 20, height: 20, seed: 1)
            try await expectSame(http.call(.post, "/v1/predict?model=nope", contentType: "image/png", body: image), 404,
                                 await grpcFailure { _ = try await grpc.predict(image: image, model: "nope") })
            try await expectSame(http.call(.get, "/v1/models/nope"), 404, await grpcFailure { _ = try await grpc.model(named: "nope") })
            try await expectSame(http.json(.put, "/v1/models/tiny/serving", ["version": 99]), 404,
                                 await grpcFailure { _ = try await grpc.setServingVersion(model: "tiny", version: 99) })
            try await expectSame(http.json(.post, "/v1/feedback", ["label": "nope", "kept": [["image_id": String(repeating: "a", count: 64)]]]), 400,
                                 await grpcFailure { _ = try await grpc.submitFeedback(label: "nope", kept: [.id(String(repeating: "a", count: 64))], idempotencyKey: "") })
            try await expectSame(http.call(.get, "/v1/images/zz/thumbnail"), 400, await grpcFailure { _ = try await grpc.thumbnail(imageID: "zz") })
            var tooMany = Boundary_V1_ListCandidatesRequest()
            tooMany.pageSize = 5001
            try await expectSame(http.call(.get, "/v1/candidates?page_size=5001"), 400,
                                 await grpcFailure { _ = try await grpc.listCandidates(tooMany) })
            var epochs = Boundary_V1_RetrainRequest()
            epochs.epochs = 2000
            try await expectSame(http.json(.post, "/v1/retrain", ["epochs": 2000]), 400,
                                 await grpcFailure { _ = try await grpc.retrainStart(epochs) })

            let large = try await http.call(.post, "/v1/predict", contentType: "image/png", body: Data(count: 200_000))
            #expect(large.status == 413 && large.message.contains("--max-request-mb"), "\(large.message)")
            let malformed = try await http.call(.post, "/v1/feedback", contentType: "application/json", body: Data("{\"label\": \"circle\", \"kept\": 3}".utf8))
            #expect(malformed.status == 400 && malformed.message.contains("'kept'"), "\(malformed.message)")
            let missing = try await http.json(.post, "/v1/feedback", ["kept": []])
            #expect(missing.status == 400 && missing.message.contains("'label' is missing"), "\(missing.message)")
            let both = try await http.json(.post, "/v1/feedback", ["label": "circle", "kept": [["image_id": "a", "image": "AAAA"]]])
            #expect(both.status == 400 && both.message.contains("both"))
            let unknownPath = try await http.call(.get, "/v1/nothing")
            #expect(unknownPath.status == 404 && unknownPath.code == "not_found")
            let negative = try await http.call(.post, "/v1/predict?top_k=-1", contentType: "image/png", body: image)
            #expect(negative.status == 400 && negative.message.contains("top_k"))
        }
    }

    @Test func quarantineOperationsSelectAndChangeFeedbackLikeGRPC() async throws {
        let harness = try await WebHarness()
        try await harness.run { http, grpc in
            let listed = try await http.call(.get, "/v1/quarantine")
            #expect(listed.status == 200 && listed.json["model"] as? String == "tiny")
            #expect((listed.json["events"] as? [Any])?.isEmpty == true)
            try await expectSame(http.json(.post, "/v1/quarantine/release", [:]), 400,
                                 await grpcFailure { _ = try await grpc.releaseFeedback(Boundary_V1_FeedbackSelection()) })
            var both = Boundary_V1_FeedbackSelection()
            both.eventIds = [1]
            both.userID = "x"
            try await expectSame(http.json(.post, "/v1/quarantine/discard", ["event_ids": [1], "user_id": "x"]), 400,
                                 await grpcFailure { _ = try await grpc.discardFeedback(both) })

            let image = try await http.call(.post, "/v1/predict", contentType: "image/png", body: try Fixtures.png(seed: 77))
            let id = try #require(image.json["image_id"] as? String)
            let receipt = try await http.json(.post, "/v1/feedback", ["label": "circle", "kept": [["image_id": id]], "idempotency_key": "d"])
            let event = try #require(Int(receipt.json["event_id"] as? String ?? ""))
            let discarded = try await http.json(.post, "/v1/quarantine/discard", ["event_ids": [event]])
            #expect(discarded.status == 200 && discarded.json["samples"] as? Int == 1, "\(discarded.text)")
            let queue = try await http.call(.get, "/v1/queue")
            #expect(queue.json["discarded"] as? Int == 1 && queue.json["pending"] as? Int == 0 && queue.json["held_out"] as? Int == 0)
            #expect(try await http.json(.post, "/v1/quarantine/discard", ["event_ids": [-1]]).status == 400)
        }
    }

    @Test func bulkUploadPredictsEachFileAndFailsOnlyTheBadOnes() async throws {
        let harness = try await WebHarness(maxImageBytes: 64 << 10)
        try await harness.run { http, _ in
            let boundary = "----boundary-test-7f3a"
            var body = Data()
            func part(_ name: String, _ filename: String, _ type: String, _ bytes: Data) {
                body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(type)\r\n\r\n".utf8)
                body += bytes + Data("\r\n".utf8)
            }
            part("image", "a.png", "image/png", try Fixtures.png(width: 30, height: 30, seed: 1))
            part("image", "notes.txt", "text/plain", Data("hello".utf8))
            part("other", "b.png", "image/png", try Fixtures.png(width: 30, height: 30, seed: 2))
            part("image", "huge.png", "image/png", Data(count: 70 << 10))
            part("image", "c.jpg", "image/jpeg", try Fixtures.jpeg(width: 30, height: 30, seed: 3))
            body += Data("--\(boundary)--\r\n".utf8)
            let result = try await http.call(.post, "/v1/images", contentType: "multipart/form-data; boundary=\(boundary)", body: body)
            #expect(result.status == 200, "\(result.text)")
            let entries = try #require(result.json["results"] as? [[String: Any]])
            #expect(entries.map { $0["index"] as? Int } == [0, 1, 2, 3, 4])
            #expect(entries.map { $0["prediction"] != nil } == [true, false, false, false, true])
            let errors = entries.map { ($0["error"] as? [String: Any])?["message"] as? String ?? "" }
            #expect(errors[1].contains("unsupported image format") && errors[2].contains("'other'") && errors[3].contains("limit"))
            #expect(entries.map { $0["filename"] as? String } == ["a.png", "notes.txt", nil, "huge.png", "c.jpg"])
            let page = try await http.call(.get, "/v1/candidates")
            #expect(page.json["total"] as? Int == 2, "both good files are review candidates")
        }
    }
}

/// The HTTP failure has `status` and exactly the gRPC failure's message.
func expectSame(_ result: HTTPResult, _ status: Int, _ grpc: (code: RPCError.Code, message: String)?,
                sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == status, "\(result.text)", sourceLocation: sourceLocation)
    #expect(grpc != nil && result.message == grpc?.message, "HTTP '\(result.message)' vs gRPC '\(grpc?.message ?? "no error")'",
            sourceLocation: sourceLocation)
}
