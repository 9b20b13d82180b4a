import ArgumentParser
import Foundation
import Reports

/// `boundary bench tsne`: the report's t-SNE on points from a file (raw little-endian float32, row
/// after row), so bench/run-tsne-bench runs scikit-learn on the very same points and scores both
/// maps the same way. Prints one JSON object (method, seconds, KL) and writes the map's positions.
struct TSNEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsne",
        abstract: "t-SNE on points from a file: time and KL divergence (JSON); positions to --out."
    )

    enum MethodChoice: String, ExpressibleByArgument, CaseIterable { case auto, exact, barnesHut = "barnes-hut" }

    @Option(help: "Points, raw float32.") var input: String
    @Option(help: "Values per point.") var dimension = 64
    @Option(help: "The map's positions, raw float32 [N, 2].") var out: String?
    @Option(help: "auto (exact up to 700 points), exact or barnes-hut.") var method: MethodChoice = .auto
    @Option(help: "Perplexity.") var perplexity = 30.0
    @Option(help: "Gradient steps.") var iterations = 1000
    @Option(help: "Threads (neighbour search and Barnes–Hut forces; the exact method uses one).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let points = try SearchBench.read(input, dimension: dimension)
        var configuration = TSNEConfiguration()
        configuration.perplexity = perplexity
        configuration.iterations = iterations
        configuration.threads = threads
        switch method {
        case .auto: break
        case .exact: configuration.exactLimit = .max
        case .barnesHut: configuration.exactLimit = 0
        }
        let start = Measure.now()
        let result = TSNE.embed(points, configuration: configuration)
        let seconds = Measure.now() - start
        if let out {
            var flat = result.positions.flatMap { $0 }
            try flat.withUnsafeMutableBytes { try Data($0).write(to: URL(fileURLWithPath: out), options: .atomic) }
        }
        let report: [String: Any] = [
            "points": points.count, "dimension": dimension, "method": result.method.rawValue, "threads": threads,
            "perplexity": result.perplexity, "iterations": iterations, "seconds": seconds, "kl": result.klDivergence,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
    }
}
