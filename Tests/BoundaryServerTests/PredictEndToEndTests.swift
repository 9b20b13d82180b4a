import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Serving
import Testing
@testable import BoundaryServer

/// Predict over the full gRPC stack, in-process and over real HTTP/2.
@Suite struct PredictEndToEndTests {
    /// Checks one reply against the model run alone on the same image.
    static func checkPrediction<T: ClientTransport>(_ client: BoundaryClient<T>, server: TestServer,
                                                    image: Data, topK: Int) async throws {
        let reply = try await client.predict(image: image, topK: topK, includeEmbedding: true)
        let expected = try Fixtures.referenceProbabilities(model: server.modelDirectory(version: 2), image: image)
        #expect(reply.model == "tiny" && reply.version == 2)
        #expect(reply.imageID == Predictor.imageID(of: image))
        #expect(reply.labels.count == min(topK, expected.count))
        #expect(zip(reply.labels, reply.labels.dropFirst()).allSatisfy { $0.score >= $1.score })
        for label in reply.labels {
            #expect(abs(label.score - expected[Int(label.index)]) < 1e-5)
            #expect(label.label == Fixtures.labels[Int(label.index)])
        }
        let sorted = expected.sorted(by: >)
        #expect(abs(reply.margin - (sorted[0] - sorted[1])) < 1e-5)
        #expect(reply.boundary == (reply.margin < 0.2))
        #expect(reply.embedding.count == 16)
        #expect(reply.decodeMs > 0 && reply.inferenceMs > 0 && reply.batchSize >= 1)
    }

    @Test(arguments: ["jpeg", "png"], [1, 3])
    func predictInProcess(format: String, topK: Int) async throws {
        let server = try await TestServer()
        let image = format == "jpeg" ? try Fixtures.jpeg(seed: 7) : try Fixtures.png(seed: 7)
        try await server.withInProcessClient { client in
            try await Self.checkPrediction(client, server: server, image: image, topK: topK)
        }
    }

    @Test(arguments: ["jpeg", "png"])
    func predictOverHTTP2(format: String) async throws {
        let server = try await TestServer()
        let image = format == "jpeg" ? try Fixtures.jpeg(seed: 8) : try Fixtures.png(seed: 8)
        try await server.withHTTP2Client { client in
            try await Self.checkPrediction(client, server: server, image: image, topK: 2)
        }
    }

    /// Every bad input gets its own status code, and the server keeps serving afterwards.
    static func checkBadInputs<T: ClientTransport>(_ client: BoundaryClient<T>) async throws {
        let good = try Fixtures.jpeg()
        #expect(await statusCode { _ = try await client.predict(image: Data("not an image".utf8)) } == .invalidArgument)
        #expect(await statusCode { _ = try await client.predict(image: Data()) } == .invalidArgument)
        var truncated = good
        truncated.removeLast(good.count / 2)
        #expect(await statusCode { _ = try await client.predict(image: truncated) } == .invalidArgument)
        #expect(await statusCode { _ = try await client.predict(image: good, model: "nope") } == .notFound)
        #expect(await statusCode { _ = try await client.predict(image: good, version: "9") } == .notFound)
        #expect(await statusCode { _ = try await client.predict(image: good, version: "v2") } == .invalidArgument)
        #expect(await statusCode { _ = try await client.model(named: "nope") } == .notFound)
        #expect(try await client.predict(image: good, version: "1").version == 1)
        #expect(try await client.predict(image: good).version == 2, "still serving after the errors")
    }

    @Test func badInputsInProcess() async throws {
        let server = try await TestServer()
        try await server.withInProcessClient { try await Self.checkBadInputs($0) }
    }

    @Test func badInputsOverHTTP2IncludingAnOversizedRequest() async throws {
        let server = try await TestServer(maxImageBytes: 64 * 1024)
        try await server.withHTTP2Client { client in
            try await Self.checkBadInputs(client)
            let huge = Data(repeating: 0xAB, count: 100 * 1024)  // Over the 64 KiB image limit.
            let code = await statusCode { _ = try await client.predict(image: huge) }
            #expect(code == .resourceExhausted, "got \(String(describing: code))")
            #expect(try await client.predict(image: try Fixtures.png()).labels.count == 3)
        }
    }

    /// PredictStream answers every request under its own id; a bad image fails only its reply.
    @Test func predictStreamMatchesRepliesToRequests() async throws {
        let server = try await TestServer()
        var images = try (0..<12).map { try Fixtures.jpeg(seed: UInt64($0) + 1) }
        images[5] = Data("broken".utf8)
        let replies = try await server.withInProcessClient { try await $0.predictAll(images: images, topK: 1) }
        #expect(replies.count == images.count)
        for (index, reply) in replies.enumerated() {
            #expect(reply.requestID == String(index))
            if index == 5 {
                #expect(reply.errorCode == UInt32(RPCError.Code.invalidArgument.rawValue))
                #expect(reply.errorMessage.contains("unsupported image format"))
            } else {
                #expect(reply.errorCode == 0)
                #expect(reply.imageID == Predictor.imageID(of: images[index]))
            }
        }
    }
}
