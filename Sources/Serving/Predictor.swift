import Crypto
import Foundation
import Imaging
import Synchronization

/// Serves predictions: picks the snapshot, decodes on the decode workers, batches the forward pass.
///
/// Admission control bounds the requests in flight (decoding, queued or running); beyond
/// `queueLimit` new requests are refused at once with `overloaded`, so a burst cannot grow memory
/// or latency without limit.
public final class Predictor: Sendable {
    public let host: ModelHost
    public let scheduler: BatchScheduler
    private let decoders: WorkerPool
    private let limits: ImagingLimits
    private let queueLimit: Int
    private let metrics: ServingMetrics
    private let inFlight = Mutex(0)
    /// Predicted images, so feedback can name them by id.
    public let recentImages: RecentImages
    /// Every prediction with its embedding, for the search index.
    public let feed: PredictionFeed?
    /// Every prediction again, for a store shared with other replicas (feedback through any of
    /// them may name the image by id); nil when the store is this process's own.
    public let sharedFeed: PredictionFeed?

    public init(host: ModelHost, configuration: ServingConfiguration, metrics: ServingMetrics,
                limits: ImagingLimits = .default, recentImages: RecentImages = RecentImages(), feed: PredictionFeed? = nil,
                sharedFeed: PredictionFeed? = nil) {
        self.host = host
        self.recentImages = recentImages
        self.feed = feed
        self.sharedFeed = sharedFeed
        self.metrics = metrics
        self.limits = limits
        queueLimit = configuration.queueLimit
        decoders = WorkerPool(name: "boundary-decode", workers: configuration.decodeWorkers)
        scheduler = BatchScheduler(maxBatchSize: configuration.maxBatchSize, maxBatchDelay: configuration.maxBatchDelay,
                                   threads: configuration.inferenceThreads, metrics: metrics)
    }

    /// Stops taking work; whatever was admitted still completes.
    public func shutdown() {
        decoders.shutdown()
        scheduler.shutdown()
        host.shutdown()
    }

    /// Requests admitted and not yet answered.
    public var inFlightCount: Int { inFlight.withLock { $0 } }

    public func predict(_ request: PredictionRequest) async throws -> Prediction {
        let selector = try VersionSelector(parsing: request.version)
        guard request.topK >= 0 else { throw ServingError.invalidArgument("top_k must not be negative") }
        let snapshot = try await host.snapshot(model: request.model, version: selector)
        try admit()
        defer { release() }
        scheduler.announce()
        let decoded: DecodedRequest
        let inline: InferenceOutput?
        do {
            let image = request.image
            let spec = snapshot.preprocess
            let limits = limits
            let scheduler = scheduler
            // The embedding is always computed (it is a copy of an activation the forward pass
            // produces anyway) and kept with the image, for head-only retrains on feedback about it.
            // A lone request, or any request when batching does not pay for this snapshot, runs
            // its forward pass right here on the decode worker.
            (decoded, inline) = try await decoders.run {
                let decoded = try Self.decode(image, spec: spec, limits: limits)
                return (decoded, scheduler.inferInline(decoded.input, on: snapshot, wantsEmbedding: true))
            }
        } catch {
            scheduler.withdraw()
            throw error
        }
        metrics.decodeDuration.recordSeconds(decoded.seconds)
        let output: InferenceOutput
        if let inline {
            output = inline
        } else {
            output = try await scheduler.infer(decoded.input, on: snapshot, wantsEmbedding: true)
        }
        let ranked = Prediction.rank(output.probabilities, spec: snapshot.spec, topK: request.topK,
                                     threshold: snapshot.boundaryThreshold)
        if let embedding = output.embedding {
            // Review works on the primary ranking: a multi-head model's first head, whose
            // qualified labels are valid feedback labels as they are.
            let top = Prediction.rank(output.probabilities, spec: snapshot.spec, topK: Self.reviewedLabels,
                                      threshold: snapshot.boundaryThreshold)
            let remembered = RecentImages.Embedding(model: snapshot.name, backbone: snapshot.backboneVersion, vector: embedding)
            let seen = RecentImages.Seen(model: snapshot.name, version: snapshot.version, labels: top.labels, margin: top.margin,
                                         isBoundary: top.isBoundary)
            recentImages.remember(request.image, id: decoded.imageID, embedding: remembered, seen: seen)
            let candidate = RecentImages.Candidate(imageID: decoded.imageID, seen: seen, embedding: remembered)
            feed?.publish(candidate)
            sharedFeed?.publish(candidate)
        }
        return Prediction(imageID: decoded.imageID, model: snapshot.name, version: snapshot.version,
                          labels: ranked.labels, margin: ranked.margin, isBoundary: ranked.isBoundary,
                          embedding: request.includeEmbedding ? output.embedding : nil, decodeSeconds: decoded.seconds,
                          inferenceSeconds: output.seconds, batchSize: output.batchSize, heads: ranked.heads)
    }

    /// Labels a review listing shows per image.
    static let reviewedLabels = 3

    /// Lowercase hex SHA-256 of `bytes`.
    public static func imageID(of bytes: Data) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// `raw` as the lower-case 64 hex digits `imageID(of:)` gives, or INVALID_ARGUMENT naming it.
    public static func normalizedImageID(_ raw: String) throws -> String {
        let id = raw.lowercased()
        guard id.count == 64, id.allSatisfy(\.isHexDigit) else {
            throw ServingError.invalidArgument("\(EchoedValue.quoted(raw)) is not an image id: expected the 64 hex digits Predict returned")
        }
        return id
    }

    /// Lower-case hex of a digest. Every Predict computes one: `String(format:)` per byte cost more
    /// than hashing the image.
    public static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private struct DecodedRequest: Sendable {
        var imageID: String
        var input: [Float]
        var seconds: Double
    }

    private static func decode(_ image: Data, spec: PreprocessSpec, limits: ImagingLimits) throws -> DecodedRequest {
        let start = DispatchTime.now().uptimeNanoseconds
        let id = imageID(of: image)
        let input = try ImageInput.preprocess(image, spec: spec, limits: limits)
        return DecodedRequest(imageID: id, input: input,
                              seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    private func admit() throws {
        let admitted = inFlight.withLock { count -> Bool in
            guard count < queueLimit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            metrics.shed.increment()
            throw ServingError.overloaded(limit: queueLimit)
        }
        metrics.queueDepth.record(inFlightCount)
    }

    private func release() {
        let depth = inFlight.withLock { count -> Int in count -= 1; return count }
        metrics.queueDepth.record(depth)
    }
}
