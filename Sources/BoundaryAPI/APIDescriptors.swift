import Foundation

/// The serialized `FileDescriptorSet` of every .proto in Protos/ (imports included), generated with
/// the Swift code by scripts/generate-protos. Server reflection answers `grpcurl list/describe`
/// from it, so clients need no local copy of the .proto files.
public enum APIDescriptors {
    public static func fileDescriptorSet() throws -> Data {
        guard let url = Bundle.module.url(forResource: "boundary", withExtension: "pb") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try Data(contentsOf: url)
    }
}
