import BoundaryServer
import BoundaryTestSupport
import Foundation
import HTTPTypes
import Testing

/// The HTTP API takes the same bearer tokens as gRPC, needs the same role for the same action, and
/// answers with the same words.
@Suite struct HTTPAuthTests {
    static let admin = "http-admin-token-0123456789"
    static let reviewer = "http-feedback-token-0123456789"
    static let client = "http-predict-token-0123456789"
    static let tokens = try! AccessTokens.parse("""
        admin:\(admin)
        eve=feedback:\(reviewer)
        predict:\(client)
        """)

    @Test func rolesAreTheGRPCPolicyOperationByOperation() async throws {
        let harness = try await WebHarness(tokens: Self.tokens)
        try await harness.run { http, grpc in
            let image = try Fixtures.png(width: 24, height: 24, seed: 4)
            let anonymous = try await http.call(.post, "/v1/predict", contentType: "image/png", body: image)
            #expect(anonymous.status == 401 && anonymous.headers[.wwwAuthenticate] == "Bearer")
            let grpcAnonymous = await grpcFailure { _ = try await grpc.predict(image: image) }
            #expect(anonymous.message == grpcAnonymous?.message && grpcAnonymous?.code == .unauthenticated)
            let wrong = try await http.call(.get, "/v1/models", token: "not-a-token-0123456789")
            #expect(wrong.status == 401 && wrong.message == "invalid bearer token")

            #expect(try await http.call(.post, "/v1/predict", token: Self.client, contentType: "image/png", body: image).status == 200)
            let denied = try await http.json(.post, "/v1/feedback", token: Self.client, ["label": "circle"])
            #expect(denied.status == 403 && denied.message == "method boundary.v1.Feedback/SubmitFeedback needs the 'feedback' role")
            let grpcDenied = await grpcFailure {
                _ = try await grpc.authenticated(as: Self.client).submitFeedback(label: "circle", kept: [.id(String(repeating: "b", count: 64))], idempotencyKey: "")
            }
            #expect(grpcDenied?.code == .permissionDenied && grpcDenied?.message == denied.message)

            #expect(try await http.call(.get, "/v1/candidates", token: Self.reviewer).status == 200)
            #expect(try await http.call(.get, "/v1/queue", token: Self.reviewer).status == 200)
            #expect(try await http.json(.put, "/v1/models/tiny/serving", token: Self.reviewer, ["version": 1]).status == 403)
            #expect(try await http.json(.post, "/v1/retrain", token: Self.reviewer, [:]).status == 403)
            #expect(try await http.call(.get, "/v1/quarantine", token: Self.reviewer).status == 403)
            let rolledBack = try await http.json(.put, "/v1/models/tiny/serving", token: Self.admin, ["version": 1])
            #expect(rolledBack.status == 200 && rolledBack.json["serving_version"] as? Int == 1)

            // A named token speaks for its name, on HTTP as on gRPC.
            let impersonation = try await http.json(.post, "/v1/feedback", token: Self.reviewer,
                                                    ["label": "circle", "user_id": "mallory", "kept": [["image_id": String(repeating: "c", count: 64)]]])
            #expect(impersonation.status == 403 && impersonation.message.contains("belongs to 'eve'"))

            // The web app and metrics need no token: they hold no data until the person enters one.
            #expect(try await http.call(.get, "/").status == 200)
            #expect(try await http.call(.get, "/metrics").status == 200)
        }
    }
}
