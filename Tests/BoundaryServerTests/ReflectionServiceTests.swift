import BoundaryAPI
import BoundaryServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite struct ReflectionServiceTests {
    static let boundaryServices = [
        "grpc.reflection.v1.ServerReflection", "boundary.v1.Models", "grpc.health.v1.Health",
        "boundary.v1.Inference", "boundary.v1.Models",
    ]

    private func boundaryReflection() throws -> ReflectionService {
        try ReflectionService(fileDescriptorSet: APIDescriptors.fileDescriptorSet(), serviceNames: Self.boundaryServices)
    }

    @Test func listServicesReturnsTheGivenServicesSortedAndEchoesTheRequest() async throws {
        let request = ReflectionRequest.with { $0.host = "localhost:50051"; $0.listServices = "*" }
        let responses = try await reflect(boundaryReflection(), [request])
        #expect(responses.count == 1)
        #expect(responses.first?.listServicesResponse.service.map(\.name) == Array(Set(Self.boundaryServices)).sorted())
        #expect(responses.first?.validHost == "localhost:50051")
        #expect(responses.first?.originalRequest == request)
    }

    @Test(arguments: [
        ("boundary.v1.Inference", "boundary/v1/inference.proto"),
        ("boundary.v1.PredictRequest", "boundary/v1/inference.proto"),
        ("boundary.v1.Inference.Predict", "boundary/v1/inference.proto"),
        (".boundary.v1.ModelInfo", "boundary/v1/models.proto"),
        ("boundary.v1.Models.SetServingVersion", "boundary/v1/models.proto"),
        ("grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"),
    ])
    func fileContainingSymbolResolvesBoundarySymbols(symbol: String, file: String) async throws {
        let responses = try await reflect(boundaryReflection(), [.with { $0.fileContainingSymbol = symbol }])
        #expect(try responses.map(fileNames) == [[file]])
    }

    @Test func fileByFilenameReturnsTheDecodableFile() async throws {
        let responses = try await reflect(boundaryReflection(), [.with { $0.fileByFilename = "boundary/v1/inference.proto" }])
        let bytes = try #require(responses.first?.fileDescriptorResponse.fileDescriptorProto.first)
        let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: bytes)
        #expect(file.name == "boundary/v1/inference.proto")
        #expect(file.package == "boundary.v1")
        #expect(file.service.map(\.name) == ["Inference"])
        #expect(file.messageType.map(\.name).contains("PredictRequest"))
    }

    @Test(arguments: [
        ReflectionRequest.with { $0.fileContainingSymbol = "boundary.v1.Nope" },
        ReflectionRequest.with { $0.fileByFilename = "boundary/v1/nope.proto" },
        ReflectionRequest.with { $0.allExtensionNumbersOfType = "boundary.v1.PredictRequest" },
        ReflectionRequest.with { $0.fileContainingExtension = .with { $0.containingType = "boundary.v1.PredictRequest"; $0.extensionNumber = 100 } },
    ])
    func unknownNamesAreNotFoundAndTheStreamStaysOpen(request: ReflectionRequest) async throws {
        let responses = try await reflect(boundaryReflection(), [request, .with { $0.listServices = "" }])
        #expect(responses.count == 2)
        #expect(responses.first?.errorResponse.errorCode == 5)
        #expect(responses.first?.errorResponse.errorMessage.isEmpty == false)
        #expect(responses.first?.originalRequest == request)
        #expect(responses.last?.listServicesResponse.service.isEmpty == false)
    }

    @Test(arguments: [
        ("a.proto", ["a.proto", "b.proto", "c.proto"]),
        ("b.proto", ["b.proto", "c.proto"]),
        ("c.proto", ["c.proto"]),
    ])
    func fileByFilenameIncludesTransitiveDependenciesOnce(file: String, expected: [String]) async throws {
        let service = try ReflectionService(fileDescriptorSet: syntheticDescriptorSet(), serviceNames: ["demo.Top"])
        let responses = try await reflect(service, [.with { $0.fileByFilename = file }])
        #expect(try responses.map(fileNames) == [expected])
    }

    @Test(arguments: [
        ("demo.Middle.Inner", "b.proto"),
        ("demo.Middle.Inner.Kind", "b.proto"),
        ("demo.Middle.Inner.KIND_A", "b.proto"),
        ("demo.Top.Go", "a.proto"),
        ("demo.Leaf", "c.proto"),
    ])
    func nestedSymbolsResolveToTheirFile(symbol: String, file: String) async throws {
        let service = try ReflectionService(fileDescriptorSet: syntheticDescriptorSet(), serviceNames: ["demo.Top"])
        let responses = try await reflect(service, [.with { $0.fileContainingSymbol = symbol }])
        #expect(try responses.map(fileNames).first?.first == file)
    }

    @Test func initRejectsBrokenDescriptorSets() throws {
        #expect(throws: DescriptorIndexError.missingDependency(file: "a.proto", dependency: "b.proto")) {
            try ReflectionService(fileDescriptorSet: syntheticDescriptorSet(dropping: "b.proto"), serviceNames: [])
        }
        #expect(throws: DescriptorIndexError.unknownService("demo.Missing")) {
            try ReflectionService(fileDescriptorSet: syntheticDescriptorSet(), serviceNames: ["demo.Top", "demo.Missing"])
        }
        #expect(throws: DescriptorIndexError.self) {
            try ReflectionService(fileDescriptorSet: Data([0xFF, 0xFF, 0xFF]), serviceNames: [])
        }
    }
}

@Suite struct ReflectionV1AlphaTests {
    /// Old clients call the v1alpha name; the messages are wire-identical, so v1 types decode them.
    @Test func theV1AlphaMethodAnswersLikeV1() async throws {
        let service = try ReflectionService(fileDescriptorSet: APIDescriptors.fileDescriptorSet(), serviceNames: ["boundary.v1.Inference"])
        let responses = try await withInProcessServer(services: [service]) { client in
            try await client.bidirectionalStreaming(
                request: StreamingClientRequest<ReflectionRequest>(producer: { writer in
                    try await writer.write(.with { $0.fileContainingSymbol = "boundary.v1.Inference" })
                }),
                descriptor: ReflectionService.v1AlphaMethod,
                serializer: ProtoCoder<ReflectionRequest>(),
                deserializer: ProtoCoder<ReflectionResponse>(),
                options: .defaults
            ) { response in
                var responses: [ReflectionResponse] = []
                for try await message in response.messages { responses.append(message) }
                return responses
            }
        }
        #expect(try responses.map(fileNames) == [["boundary/v1/inference.proto"]])
    }
}
