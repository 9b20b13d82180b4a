import BoundaryAPI
import Foundation
import GRPCCore
import Serving
import GRPCProtobuf

/// `grpc.reflection.v1.ServerReflection`, so `grpcurl list/describe` and Postman work against
/// Boundary without local copies of the .proto files. Answers come from the `FileDescriptorSet`
/// built with the generated code, so they always match what the server actually speaks.
public struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
    private typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    private typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    private let index: DescriptorIndex
    private let serviceNames: [String]

    /// - Parameters:
    ///   - fileDescriptorSet: a serialized `FileDescriptorSet` built with `--include_imports`.
    ///   - serviceNames: the fully-qualified services this server actually registers; reflection
    ///     lists only these, even if the set describes more.
    /// - Throws: ``DescriptorIndexError`` if the set is malformed, lacks an import, or does not
    ///   describe one of `serviceNames`.
    public init(fileDescriptorSet: Data, serviceNames: [String]) throws {
        let index = try DescriptorIndex(fileDescriptorSet: fileDescriptorSet)
        for name in serviceNames where !index.contains(symbol: name) {
            throw DescriptorIndexError.unknownService(name)
        }
        self.index = index
        self.serviceNames = Array(Set(serviceNames)).sorted()
    }

    /// `grpc.reflection.v1alpha` has the same messages (same field numbers) under an older name.
    /// Python's grpcio-reflection client, older grpcurl and some GUIs still call it, so the same
    /// handler also answers there. It isn't listed by `list_services`: the descriptor set lacks it.
    public static let v1AlphaMethod = MethodDescriptor(
        fullyQualifiedService: "grpc.reflection.v1alpha.ServerReflection",
        method: "ServerReflectionInfo"
    )

    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        for method in [Grpc_Reflection_V1_ServerReflection.Method.ServerReflectionInfo.descriptor, Self.v1AlphaMethod] {
            router.registerHandler(
                forMethod: method,
                deserializer: ProtobufDeserializer<Grpc_Reflection_V1_ServerReflectionRequest>(),
                serializer: ProtobufSerializer<Grpc_Reflection_V1_ServerReflectionResponse>()
            ) { request, context in
                try await self.serverReflectionInfo(request: request, context: context)
            }
        }
    }

    /// One response per request, in order. Lookup failures become an `error_response` rather than
    /// a failed RPC, so one bad name doesn't end the client's whole reflection session.
    public func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await message in request {
            try await response.write(answer(message))
        }
    }

    private func answer(_ request: Request) -> Response {
        var response = Response()
        response.validHost = request.host
        response.originalRequest = request
        switch request.messageRequest {
        case .listServices:
            response.listServicesResponse = .with { list in
                list.service = serviceNames.map { name in .with { $0.name = name } }
            }
        case .fileByFilename(let name):
            response.messageResponse = fileResponse(
                index.serializedFileWithDependencies(name),
                notFound: "no file named \(EchoedValue.quoted(name)); use list_services and file_containing_symbol to discover files"
            )
        case .fileContainingSymbol(let symbol):
            let files = index.fileName(containing: symbol).flatMap(index.serializedFileWithDependencies)
            response.messageResponse = fileResponse(
                files,
                notFound: "no symbol named \(EchoedValue.quoted(symbol)); symbols are fully qualified, e.g. 'boundary.v1.Inference'"
            )
        case .fileContainingExtension(let extensionRequest):
            response.messageResponse = .errorResponse(Self.notFound(
                "no extension \(extensionRequest.extensionNumber) of \(EchoedValue.quoted(extensionRequest.containingType)); this server defines no extensions"
            ))
        case .allExtensionNumbersOfType(let type):
            response.messageResponse = .errorResponse(Self.notFound(
                "no extensions of \(EchoedValue.quoted(type)); this server defines no extensions"
            ))
        case nil:
            response.messageResponse = .errorResponse(.with {
                $0.errorCode = Int32(RPCError.Code.invalidArgument.rawValue)
                $0.errorMessage = "the request sets none of the message_request fields"
            })
        }
        return response
    }

    private func fileResponse(_ files: [Data]?, notFound message: String) -> Response.OneOf_MessageResponse {
        guard let files else { return .errorResponse(Self.notFound(message)) }
        return .fileDescriptorResponse(.with { $0.fileDescriptorProto = files })
    }

    private static func notFound(_ message: String) -> Grpc_Reflection_V1_ErrorResponse {
        .with {
            $0.errorCode = Int32(RPCError.Code.notFound.rawValue)
            $0.errorMessage = message
        }
    }
}
