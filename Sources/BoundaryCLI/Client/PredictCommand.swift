import ArgumentParser
import BoundaryAPI
import Foundation

/// `boundary predict IMAGE… --server HOST:PORT`: classify files with a running server.
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify image files with a running server (one PredictStream for all files)."
    )

    @Argument(help: "JPEG or PNG files.") var images: [String]
    @OptionGroup var client: ClientOptions
    @Option(help: "Model name (default: the server's default model).") var model: String = ""
    @Option(help: "Version number, 'stable' or 'latest' (default: the serving version).") var version: String = ""
    @Option(help: "Ranked labels per image.") var topK: Int = 3
    @Flag(help: "Print one JSON object per image.") var json = false

    func run() async throws {
        let data = try images.map { path -> Data in
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path)")
            }
            return bytes
        }
        let replies: [Boundary_V1_PredictResponse]
        do {
            replies = try await client.withClient { client in
                try await client.predictAll(images: data, model: model, version: version, topK: topK,
                                            timeout: self.client.deadline)
            }
        } catch {
            throw ValidationError("predict failed: \(describe(error))")
        }
        var failures = 0
        for (path, reply) in zip(images, replies) {
            if reply.errorCode != 0 { failures += 1 }
            print(json ? try reply.jsonString() : Self.render(path: path, reply))
        }
        if failures > 0 { throw ExitCode(1) }
    }

    static func render(path: String, _ reply: Boundary_V1_PredictResponse) -> String {
        if reply.errorCode != 0 { return "\(path): error \(reply.errorCode): \(reply.errorMessage)" }
        var lines = ["\(path)  \(reply.model) v\(reply.version)  margin \(String(format: "%.3f", reply.margin))"
                     + (reply.boundary ? "  [boundary]" : "") + "  id \(reply.imageID.prefix(12))"]
        guard !reply.heads.isEmpty else {
            for label in reply.labels { lines.append(String(format: "  %6.2f%%  %@", label.score * 100, label.label)) }
            return lines.joined(separator: "\n")
        }
        // A multi-head model: each head's own ranking.
        for head in reply.heads {
            lines.append("  \(head.head)  margin \(String(format: "%.3f", head.margin))" + (head.boundary ? "  [boundary]" : ""))
            for label in head.labels { lines.append(String(format: "    %6.2f%%  %@", label.score * 100, label.label)) }
        }
        return lines.joined(separator: "\n")
    }
}
