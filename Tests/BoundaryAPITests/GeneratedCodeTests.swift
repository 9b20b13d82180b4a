import BoundaryAPI
import Foundation
import SwiftProtobuf
import Testing

/// The committed generated code matches the .proto files and round-trips messages.
@Suite struct GeneratedCodeTests {
    @Test func predictMessagesRoundTrip() throws {
        var request = Boundary_V1_PredictRequest()
        request.model = "scene-s"
        request.image = Data([0xFF, 0xD8, 0xFF])
        request.topK = 3
        request.requestID = "r1"
        let decoded = try Boundary_V1_PredictRequest(serializedBytes: try request.serializedBytes() as [UInt8])
        #expect(decoded == request)

        var response = Boundary_V1_PredictResponse()
        var label = Boundary_V1_ScoredLabel()
        label.label = "stripes-vertical"
        label.score = 0.75
        response.labels = [label]
        response.margin = 0.5
        let json = try response.jsonString()
        #expect(json.contains("\"margin\":0.5"))
        #expect(try Boundary_V1_PredictResponse(jsonString: json) == response)
    }

    @Test func descriptorSetCoversEveryService() throws {
        let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: [UInt8](try APIDescriptors.fileDescriptorSet()))
        let services = set.file.flatMap { file in file.service.map { "\(file.package).\($0.name)" } }
        #expect(Set(services) == ["boundary.v1.Inference", "boundary.v1.Models", "grpc.health.v1.Health",
                                   "grpc.reflection.v1.ServerReflection", "boundary.v1.Feedback", "boundary.v1.Review", "boundary.v1.Search"])
    }
}
