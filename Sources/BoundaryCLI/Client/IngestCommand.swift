import ArgumentParser
import BoundaryAPI
import Foundation

/// `boundary ingest DIR`: predicts every image under a folder with a running server, so the whole
/// folder becomes review candidates (the grid and map of the review app, `boundary review list`).
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Predict every JPEG/PNG under a folder with a running server, adding them to the review candidates."
    )

    @Argument(help: "Folder to walk (sub-folders included).") var directory: String
    @OptionGroup var client: ClientOptions
    @Option(help: "Model name (default: the server's default model).") var model: String = ""
    @Option(help: "Images per PredictStream call; only these are in memory at once.") var chunk: Int = 64
    @Flag(help: "Print one JSON object per image.") var json = false

    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    func run() async throws {
        guard chunk >= 1 else { throw ValidationError("--chunk must be at least 1") }
        let files = try Self.imageFiles(under: directory)
        guard !files.isEmpty else { throw ValidationError("no .jpg, .jpeg or .png files under \(directory)") }
        var predicted = 0, boundary = 0, failed = 0
        let started = ContinuousClock.now
        for start in stride(from: 0, to: files.count, by: chunk) {
            let paths = Array(files[start..<min(start + chunk, files.count)])
            var readable: [(path: String, bytes: Data)] = []
            for path in paths {
                if let bytes = FileManager.default.contents(atPath: path) { readable.append((path, bytes)) } else {
                    failed += 1
                    FileHandle.standardError.write(Data("\(path): cannot read the file\n".utf8))
                }
            }
            let replies: [Boundary_V1_PredictResponse]
            do {
                replies = try await client.withClient { client in
                    try await client.predictAll(images: readable.map(\.bytes), model: model, timeout: self.client.deadline)
                }
            } catch {
                throw ValidationError("ingest stopped after \(predicted) images: \(describe(error))")
            }
            for (file, reply) in zip(readable, replies) {
                if json { print(try reply.jsonString()) }
                if reply.errorCode != 0 {
                    failed += 1
                    FileHandle.standardError.write(Data("\(file.path): \(reply.errorMessage)\n".utf8))
                } else {
                    predicted += 1
                    if reply.boundary { boundary += 1 }
                }
            }
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let summary = "ingested \(predicted) of \(files.count) images from \(directory) in \(String(format: "%.1f", seconds)) s: "
            + "\(boundary) boundary cases" + (failed > 0 ? ", \(failed) failed (listed above)" : "")
        FileHandle.standardError.write(Data((summary + "\n").utf8))
        if failed > 0 { throw ExitCode(1) }
    }

    /// JPEG and PNG files under `directory`, in a stable order, hidden files skipped.
    static func imageFiles(under directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(directory) is not a folder")
        }
        let root = URL(fileURLWithPath: directory)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw ValidationError("cannot list \(directory)")
        }
        var files: [String] = []
        for case let url as URL in walker where extensions.contains(url.pathExtension.lowercased()) {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true { files.append(url.path) }
        }
        return files.sorted()
    }
}
