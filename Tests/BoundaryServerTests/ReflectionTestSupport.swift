import BoundaryAPI
import BoundaryServer
import Foundation
import GRPCCore
import SwiftProtobuf

typealias ReflectionRequest = Grpc_Reflection_V1_ServerReflectionRequest
typealias ReflectionResponse = Grpc_Reflection_V1_ServerReflectionResponse

/// Sends `requests` on one reflection stream and returns the responses in order.
func reflect(_ service: ReflectionService, _ requests: [ReflectionRequest]) async throws -> [ReflectionResponse] {
    try await withInProcessServer(services: [service]) { client in
        try await Grpc_Reflection_V1_ServerReflection.Client(wrapping: client).serverReflectionInfo { writer in
            try await writer.write(contentsOf: requests)
        } onResponse: { response in
            var responses: [ReflectionResponse] = []
            for try await message in response.messages { responses.append(message) }
            return responses
        }
    }
}

/// The names of the files in a `file_descriptor_response`, decoding the bytes as a client would.
func fileNames(in response: ReflectionResponse) throws -> [String] {
    try response.fileDescriptorResponse.fileDescriptorProto.map {
        try Google_Protobuf_FileDescriptorProto(serializedBytes: $0).name
    }
}

/// A small descriptor set with imports and nesting, which the Boundary protos lack:
/// `a.proto` imports `b.proto` and `c.proto`; `b.proto` imports `c.proto`.
func syntheticDescriptorSet(dropping dropped: String? = nil) throws -> Data {
    let leaf = Google_Protobuf_FileDescriptorProto.with {
        $0.name = "c.proto"
        $0.package = "demo"
        $0.messageType = [.with { $0.name = "Leaf" }]
    }
    let middle = Google_Protobuf_FileDescriptorProto.with {
        $0.name = "b.proto"
        $0.package = "demo"
        $0.dependency = ["c.proto"]
        $0.messageType = [.with {
            $0.name = "Middle"
            $0.nestedType = [.with {
                $0.name = "Inner"
                $0.enumType = [.with {
                    $0.name = "Kind"
                    $0.value = [.with { $0.name = "KIND_A"; $0.number = 0 }]
                }]
            }]
        }]
    }
    let top = Google_Protobuf_FileDescriptorProto.with {
        $0.name = "a.proto"
        $0.package = "demo"
        $0.dependency = ["b.proto", "c.proto"]
        $0.service = [.with {
            $0.name = "Top"
            $0.method = [.with { $0.name = "Go"; $0.inputType = ".demo.Middle"; $0.outputType = ".demo.Leaf" }]
        }]
    }
    let set = Google_Protobuf_FileDescriptorSet.with {
        $0.file = [top, middle, leaf].filter { $0.name != dropped }
    }
    return try set.serializedBytes()
}

/// A protobuf (de)serializer for calling methods that have no generated client (the v1alpha
/// reflection name); the tests' dependencies stay to GRPCCore and SwiftProtobuf.
struct ProtoCoder<Message: SwiftProtobuf.Message>: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: Message) throws -> Bytes {
        Bytes(try message.serializedBytes() as [UInt8])
    }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Message {
        try serializedMessageBytes.withUnsafeBytes { try Message(serializedBytes: Data($0)) }
    }
}
