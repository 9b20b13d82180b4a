import Foundation
import SwiftProtobuf

/// Why a descriptor set can't back server reflection. Raised at startup, so a broken build fails
/// loudly instead of serving a reflection API that lies.
public enum DescriptorIndexError: Error, Equatable, CustomStringConvertible {
    case undecodable(String)
    case missingDependency(file: String, dependency: String)
    case unknownService(String)

    public var description: String {
        switch self {
        case .undecodable(let reason):
            "the descriptor set is not a valid FileDescriptorSet: \(reason)"
        case .missingDependency(let file, let dependency):
            "'\(file)' imports '\(dependency)', which the descriptor set lacks; regenerate it with --include_imports"
        case .unknownService(let name):
            "service '\(name)' is not described by the descriptor set"
        }
    }
}

/// Lookup tables over a `FileDescriptorSet`: file by name, file by fully-qualified symbol, and a
/// file's transitive imports. Built once; immutable afterwards, so it is freely shareable.
struct DescriptorIndex: Sendable {
    /// Serialized `FileDescriptorProto` bytes, which is what reflection puts on the wire.
    private let serializedFiles: [String: Data]
    private let dependencies: [String: [String]]
    /// Fully-qualified symbol (no leading dot) → the file that defines it.
    private let fileBySymbol: [String: String]

    init(fileDescriptorSet: Data) throws {
        let set: Google_Protobuf_FileDescriptorSet
        do {
            set = try Google_Protobuf_FileDescriptorSet(serializedBytes: fileDescriptorSet)
        } catch {
            throw DescriptorIndexError.undecodable(String(describing: error))
        }
        var serialized: [String: Data] = [:]
        var dependencies: [String: [String]] = [:]
        var symbols: [String: String] = [:]
        for file in set.file {
            serialized[file.name] = try file.serializedBytes()
            dependencies[file.name] = file.dependency
            for symbol in Self.symbols(in: file) { symbols[symbol] = file.name }
        }
        for file in set.file {
            for dependency in file.dependency where serialized[dependency] == nil {
                throw DescriptorIndexError.missingDependency(file: file.name, dependency: dependency)
            }
        }
        self.serializedFiles = serialized
        self.dependencies = dependencies
        self.fileBySymbol = symbols
    }

    /// Whether `symbol` (a fully-qualified name, leading dot optional) is defined anywhere.
    func contains(symbol: String) -> Bool {
        fileBySymbol[Self.normalized(symbol)] != nil
    }

    /// The file defining `symbol`, or `nil` if no file does.
    func fileName(containing symbol: String) -> String? {
        fileBySymbol[Self.normalized(symbol)]
    }

    /// `file` followed by every file it transitively imports, each once, as serialized
    /// `FileDescriptorProto`s; `nil` if the set has no such file. Clients need the imports to
    /// resolve the field types the file refers to.
    func serializedFileWithDependencies(_ file: String) -> [Data]? {
        guard serializedFiles[file] != nil else { return nil }
        var ordered: [String] = []
        var seen: Set<String> = []
        var pending = [file]
        while let next = pending.popLast() {
            guard seen.insert(next).inserted else { continue }
            ordered.append(next)
            pending.append(contentsOf: (dependencies[next] ?? []).reversed())
        }
        return ordered.compactMap { serializedFiles[$0] }
    }

    private static func normalized(_ symbol: String) -> String {
        symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
    }

    /// Every name a reflection client may ask for: services, their methods, messages (nested
    /// included), enums and enum values (which protobuf scopes as siblings of their enum).
    private static func symbols(in file: Google_Protobuf_FileDescriptorProto) -> [String] {
        let prefix = file.package.isEmpty ? "" : file.package + "."
        var names: [String] = []
        for service in file.service {
            let serviceName = prefix + service.name
            names.append(serviceName)
            names.append(contentsOf: service.method.map { serviceName + "." + $0.name })
        }
        for message in file.messageType {
            appendMessage(message, scope: prefix, into: &names)
        }
        for enumType in file.enumType {
            appendEnum(enumType, scope: prefix, into: &names)
        }
        return names
    }

    private static func appendMessage(
        _ message: Google_Protobuf_DescriptorProto,
        scope: String,
        into names: inout [String]
    ) {
        let name = scope + message.name
        names.append(name)
        for nested in message.nestedType {
            appendMessage(nested, scope: name + ".", into: &names)
        }
        for enumType in message.enumType {
            appendEnum(enumType, scope: name + ".", into: &names)
        }
    }

    private static func appendEnum(
        _ enumType: Google_Protobuf_EnumDescriptorProto,
        scope: String,
        into names: inout [String]
    ) {
        names.append(scope + enumType.name)
        names.append(contentsOf: enumType.value.map { scope + $0.name })
    }
}
