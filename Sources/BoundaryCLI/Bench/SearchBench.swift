import ArgumentParser
import BLAS
import Foundation
import SimilaritySearch
import Tensor

/// `boundary bench search`: the exact similarity index on vectors from files (raw little-endian
/// float32, row after row), so bench/run-search-bench runs faiss on the very same vectors. Prints
/// one JSON object: build time, memory per stored vector, single-query latency, batch throughput and
/// the ids found for the first queries (the script checks them against faiss).
struct SearchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Exact top-k search over stored embeddings from a file: latency, throughput, build time (JSON)."
    )

    @Option(help: "Stored vectors, raw float32.") var vectors: String
    @Option(help: "Query vectors, raw float32.") var queries: String
    @Option(help: "Values per vector.") var dimension = 128
    @Option(help: "Results per query.") var k = 10
    @Option(help: "Worker threads.") var threads = 2
    @Option(help: "Queries timed one at a time (p50/p99).") var single = 200
    @Option(help: "Queries per batch call (throughput).") var batch = 1000

    func run() throws {
        BLAS.threads = 1  // Parallel over row blocks above BLAS, as in serving.
        let stored = try Self.read(vectors, dimension: dimension)
        let asked = try Self.read(queries, dimension: dimension)
        guard asked.count >= max(single, batch) else { throw ValidationError("need at least \(max(single, batch)) queries") }
        let pool = ComputePool(threads: threads)
        let rssBuilt = Self.residentBytes()
        let buildStart = Measure.now()
        var index = ExactIndex<ImageKey>(dimension: dimension)
        for (row, vector) in stored.enumerated() { try index.upsert(id: ImageKey(hex: String(format: "%064x", row))!, vector: vector) }
        let buildSeconds = Measure.now() - buildStart
        // What the index added, beyond the vectors as read from the file.
        let bytesPerVector = Double(Self.residentBytes() - rssBuilt) / Double(stored.count)
        _ = try index.search([asked[0]], k: k, pool: pool)  // warm-up
        var latencies: [Double] = []
        for query in asked.prefix(single) {
            let start = Measure.now()
            _ = try index.search([query], k: k, pool: pool)
            latencies.append(Measure.now() - start)
        }
        latencies.sort()
        let batchQueries = Array(asked.prefix(batch))
        let batchStart = Measure.now()
        let answers = try index.search(batchQueries, k: k, pool: pool)
        let batchSeconds = Measure.now() - batchStart
        let report: [String: Any] = [
            "engine": "\(OpenBLASCore.summary); \(KernelLevel.summary)", "threads": threads,
            "stored": stored.count, "dimension": dimension, "k": k,
            "build_seconds": buildSeconds, "bytes_per_vector": bytesPerVector,
            "single_p50_ms": latencies[latencies.count / 2] * 1000,
            "single_p99_ms": latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1000,
            "single_qps": Double(latencies.count) / latencies.reduce(0, +),
            "batch_qps": Double(batch) / batchSeconds,
            "ids": answers.prefix(50).map { $0.map { Int($0.id.description, radix: 16)! } },
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
    }

    static func read(_ path: String, dimension: Int) throws -> [[Float]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        guard data.count % (4 * dimension) == 0 else {
            throw ValidationError("\(path) holds \(data.count) bytes, not a whole number of \(dimension)-d float32 vectors")
        }
        return data.withUnsafeBytes { raw in
            let values = raw.bindMemory(to: Float.self)
            return stride(from: 0, to: values.count, by: dimension).map { Array(values[$0..<$0 + dimension]) }
        }
    }

    /// This process's resident set, from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
