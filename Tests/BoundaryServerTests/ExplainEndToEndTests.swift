import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Imaging
import NeuralNet
import Serving
import Testing
import Training
@testable import BoundaryServer

/// Explain over the full gRPC stack: the same map the engine computes for the served version,
/// by image bytes or by the id Predict returned, and a clear status for every bad request.
@Suite struct ExplainEndToEndTests {
    /// The engine's own Grad-CAM for `image` on the served version, scaled as the API scales it.
    static func reference(server: TestServer, image: Data, label: Int?) throws -> (label: Int, heat: [Float], layers: [String]) {
        let network = try ModelDirectory.load(server.modelDirectory(version: 2))
        let input = try ImageInput.preprocess(image, spec: PreprocessSpec(network.spec.input))
        let probabilities = try Fixtures.referenceProbabilities(model: server.modelDirectory(version: 2), image: image)
        let chosen = label ?? probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
        let layer = try network.explainableLayer(named: nil)
        let cam = try input.withUnsafeBufferPointer { try network.classActivationMap(image: $0.baseAddress!, label: chosen, layer: layer) }
        let peak = cam.heat.max() ?? 0
        return (chosen, cam.heat.map { peak > 0 ? $0 / peak : 0 }, network.spatialLayerNames)
    }

    @Test func explainsByBytesAndByIDAsTheEngineDoes() async throws {
        let server = try await TestServer()
        let image = try Fixtures.jpeg(seed: 12)
        try await server.withInProcessClient { client in
            let byBytes = try await client.explain(image: image, featureMaps: 3)
            let expected = try Self.reference(server: server, image: image, label: nil)
            #expect(byBytes.model == "tiny" && byBytes.version == 2)
            #expect(byBytes.imageID == Predictor.imageID(of: image))
            #expect(Int(byBytes.labelIndex) == expected.label && byBytes.label == Fixtures.labels[expected.label])
            #expect(byBytes.layers == expected.layers && byBytes.layer == expected.layers.last)
            #expect(Int(byBytes.heat.height * byBytes.heat.width) == byBytes.heat.values.count)
            #expect(zip(byBytes.heat.values, expected.heat).allSatisfy { abs($0 - $1) < 1e-4 })
            #expect(byBytes.heat.values.allSatisfy { (0...1).contains($0) })
            #expect(byBytes.featureMaps.count == 3)
            #expect(zip(byBytes.featureMaps, byBytes.featureMaps.dropFirst()).allSatisfy { $0.meanActivation >= $1.meanActivation })
            #expect(byBytes.explainMs > 0)

            // An image Predict saw can be named by its id; another label and layer can be asked for.
            let predicted = try await client.predict(image: image)
            let other = (expected.label + 1) % Fixtures.labels.count
            let byID = try await client.explain(imageID: predicted.imageID, label: Fixtures.labels[other],
                                                layer: expected.layers[0])
            #expect(Int(byID.labelIndex) == other && byID.layer == expected.layers[0])
            let firstLayer = try await client.explain(image: image, label: Fixtures.labels[other], layer: expected.layers[0])
            #expect(byID.heat == firstLayer.heat)
        }
    }

    @Test func badRequestsGetStatusesAPersonCanActOn() async throws {
        let server = try await TestServer()
        let image = try Fixtures.jpeg(seed: 13)
        try await server.withInProcessClient { client in
            func failure(_ body: () async throws -> Void) async -> RPCError? {
                do { try await body() } catch let error as RPCError { return error } catch {}
                return nil
            }
            let layer = await failure { _ = try await client.explain(image: image, layer: "layers.99") }
            #expect(layer?.code == .invalidArgument)
            #expect(layer?.message.contains("explainable layers: layers.0") == true, "\(layer?.message ?? "")")
            let label = await failure { _ = try await client.explain(image: image, label: "zebra") }
            #expect(label?.code == .invalidArgument || label?.code == .notFound, "\(String(describing: label))")
            #expect(label?.message.contains("zebra") == true)
            #expect(await statusCode { _ = try await client.explain() } == .invalidArgument)
            #expect(await statusCode { _ = try await client.explain(image: image, imageID: "abc") } == .invalidArgument)
            #expect(await statusCode { _ = try await client.explain(imageID: String(repeating: "0", count: 64)) } == .notFound)
            #expect(await statusCode { _ = try await client.explain(imageID: "zz") } == .invalidArgument)
            #expect(await statusCode { _ = try await client.explain(image: Data("not an image".utf8)) } == .invalidArgument)
            #expect(await statusCode { _ = try await client.explain(image: image, featureMaps: 65) } == .invalidArgument)
            #expect(await statusCode { _ = try await client.explain(image: image, model: "nope") } == .notFound)
            // And it still answers.
            _ = try await client.explain(image: image)
        }
    }
}
