import ArgumentParser
import BoundaryAPI
import BoundaryClient
import GRPCNIOTransportHTTP2
import Foundation

/// `boundary models list|show|promote|rollback`: the registry as a running server sees it.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List models, show one, or change which version serves.",
        subcommands: [List.self, Show.self, Promote.self, Rollback.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every model with its serving version.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let models = try await call(client) { try await $0.listModels() }
            for model in models {
                print("\(model.name)  \(model.architecture)  serving v\(model.servingVersion)  "
                      + "\(model.versions.count) version(s)  \(model.labels.count) labels")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Labels, input spec and every version with its lineage.")
        @Argument var name: String
        @OptionGroup var client: ClientOptions
        @Flag(help: "Print the ModelInfo message as JSON.") var json = false

        func run() async throws {
            let model = try await call(client) { try await $0.model(named: name) }
            print(json ? try model.jsonString() : render(model))
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve VERSION of NAME (admin role).")
        @Argument var name: String
        @Argument var version: Int
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let model = try await call(client) { try await $0.setServingVersion(model: name, version: version) }
            print("\(model.name) now serves version \(model.servingVersion)")
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve an earlier version of NAME (admin role); default: the newest version older than the serving one.")
        @Argument var name: String
        @Argument var version: Int?
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let model = try await call(client) { client in
                let current = try await client.model(named: name)
                guard let target = version ?? current.versions.map({ Int($0.version) })
                    .filter({ $0 < Int(current.servingVersion) }).max() else {
                    throw ValidationError("\(name) has no version older than the serving version \(current.servingVersion)")
                }
                return try await client.setServingVersion(model: name, version: target)
            }
            print("\(model.name) rolled back to version \(model.servingVersion)")
        }
    }
}

private func call<R: Sendable>(_ options: ClientOptions,
                                _ body: (BoundaryClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
    do {
        return try await options.withClient(body)
    } catch let error as ValidationError {
        throw error
    } catch {
        throw ValidationError(describe(error))
    }
}

private func render(_ model: Boundary_V1_ModelInfo) -> String {
    var lines = [
        "\(model.name) (\(model.architecture)), serving version \(model.servingVersion)",
        "input: \(model.input.channels)x\(model.input.height)x\(model.input.width) \(model.input.resize)",
        "labels: \(model.labels.joined(separator: ", "))",
        "boundary threshold: \(model.boundaryThreshold)",
        "versions:",
    ]
    for version in model.versions {
        let metrics = version.metrics.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(String(format: "%.4f", $0.value))" }.joined(separator: " ")
        let lineage = version.lineage.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.append("  \(version.serving ? "*" : " ") v\(version.version)  parent \(version.parent == 0 ? "-" : String(version.parent))"
                     + "  \(version.createdAt)  \(metrics)")
        if !lineage.isEmpty { lines.append("      \(lineage)") }
    }
    return lines.joined(separator: "\n")
}
