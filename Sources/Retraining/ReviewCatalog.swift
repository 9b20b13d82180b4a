import FeedbackStore
import Foundation
import Imaging
import Reports
import Serving
import Synchronization

/// What a reviewer asks for: one model's recent predictions, filtered, in an order, a page at a time.
public struct CandidateQuery: Sendable {
    public enum Order: Sendable, Equatable {
        /// Smallest margin first: uncertainty sampling, the active-learning order.
        case marginAscending
        case newestFirst
    }

    public var model: String
    public var predictedLabel: String
    public var boundaryOnly: Bool
    public var order: Order
    public var pageSize: Int
    public var pageToken: String
    public var projection: MapProjection

    public static let defaultPageSize = 100
    public static let maxPageSize = 5000

    public init(model: String = "", predictedLabel: String = "", boundaryOnly: Bool = false, order: Order = .marginAscending,
                pageSize: Int = 0, pageToken: String = "", projection: MapProjection = .pca) {
        self.model = model
        self.projection = projection
        self.predictedLabel = predictedLabel
        self.boundaryOnly = boundaryOnly
        self.order = order
        self.pageSize = pageSize
        self.pageToken = pageToken
    }
}

/// How the review map places images.
public enum MapProjection: String, Sendable, Equatable {
    /// The first two principal components: every embedded image is placed, at once.
    case pca
    /// t-SNE, computed in the background: only the images it was fitted on are placed.
    case tsne
}

/// One page of candidates, each placed on the embedding map when it can be.
public struct CandidatePage: Sendable {
    public struct Entry: Sendable {
        public var imageID: String
        public var seen: RecentImages.Seen
        /// (x, y) on the map; nil when the image was embedded by another backbone.
        public var position: (x: Float, y: Float)?
        /// Samples of this image a retrain will still use (pending, training, held out).
        public var queued: Int
    }

    public var model: String
    public var entries: [Entry]
    public var nextPageToken: String
    public var total: Int
    /// PCA only.
    public var explainedVariance: [Double]
    public var projection: MapProjection = .pca
    /// A t-SNE map of the current images is being computed: positions are from the last one.
    public var mapPending = false
}

/// A small JPEG of an image.
public struct ThumbnailImage: Sendable {
    public var jpeg: Data
    public var width: Int
    public var height: Int
}

/// The review listing: recent predictions from `RecentImages`, the map from a PCA of their
/// embeddings (refitted when the set changed by a tenth), and thumbnails of any image the server
/// remembers or stored with feedback. CPU work runs on its own worker thread.
public final class ReviewCatalog: Sendable {
    private let host: ModelHost
    private let recent: RecentImages
    private let store: any FeedbackStore
    private let worker = WorkerPool(name: "boundary-review", workers: 1)
    private let maps = Mutex<[MapKey: EmbeddingMap]>([:])
    private let tsneMaps = ReviewTSNEMaps()

    public static let defaultThumbnailSide = 128
    public static let maxThumbnailSide = 512

    private struct MapKey: Hashable { var model: String; var backbone: Int }

    public init(host: ModelHost, recent: RecentImages, store: any FeedbackStore) {
        self.host = host
        self.recent = recent
        self.store = store
    }

    public func shutdown() {
        worker.shutdown()
        tsneMaps.shutdown()
    }

    public func candidates(_ query: CandidateQuery) async throws -> CandidatePage {
        let size = query.pageSize == 0 ? CandidateQuery.defaultPageSize : query.pageSize
        guard (1...CandidateQuery.maxPageSize).contains(size) else {
            throw ServingError.invalidArgument("page_size \(query.pageSize) is out of range: send 1-\(CandidateQuery.maxPageSize), or 0 for \(CandidateQuery.defaultPageSize)")
        }
        let after = try PageToken(query.pageToken, order: query.order)
        let snapshot = try await host.snapshot(model: query.model, version: .serving)
        if !query.predictedLabel.isEmpty, !snapshot.labels.contains(query.predictedLabel) {
            throw ServingError.unknownLabel(query.predictedLabel, model: snapshot.name, labels: snapshot.labels)
        }
        let model = snapshot.name, backbone = snapshot.backboneVersion
        return try await worker.run { [self] in
            let all = recent.candidates(model: model)
            let map = query.projection == .pca ? self.map(MapKey(model: model, backbone: backbone), all) : nil
            let tsne = query.projection == .tsne ? tsneMaps.layout(for: .init(model: model, backbone: backbone), candidates: all) : nil
            // Indices are filtered and sorted, not the candidates: moving 20,000 of those costs more
            // than comparing them.
            var matching = all.indices.filter { index in
                (query.predictedLabel.isEmpty || all[index].seen.labels.first?.label == query.predictedLabel)
                    && (!query.boundaryOnly || all[index].seen.isBoundary)
            }
            matching.sort { PageToken.precedes(all[$0], all[$1], order: query.order) }
            let start = after.map { token in matching.firstIndex { token.isBefore(all[$0]) } ?? matching.count } ?? 0
            let page = matching[start..<min(start + size, matching.count)].map { all[$0] }
            let more = start + page.count < matching.count
            let queued = try store.openSampleCounts(model: model, imageIDs: page.map(\.imageID))
            return CandidatePage(
                model: model,
                entries: page.map { candidate in
                    CandidatePage.Entry(imageID: candidate.imageID, seen: candidate.seen,
                                        position: candidate.embedding.flatMap { embedding in
                                            guard embedding.backbone == backbone else { return nil }
                                            return map?.place(embedding.vector) ?? tsne?.layout?.positions[candidate.imageID]
                                        },
                                        queued: queued[candidate.imageID] ?? 0)
                },
                nextPageToken: more ? page.last.map { PageToken(after: $0, order: query.order).text } ?? "" : "",
                total: matching.count, explainedVariance: map?.explainedVariance ?? [], projection: query.projection,
                mapPending: tsne?.pending ?? false)
        }
    }

    public func thumbnail(imageID raw: String, maxSide: Int) async throws -> ThumbnailImage {
        let side = maxSide == 0 ? Self.defaultThumbnailSide : maxSide
        guard (1...Self.maxThumbnailSide).contains(side) else {
            throw ServingError.invalidArgument("max_side \(maxSide) is out of range: send 1-\(Self.maxThumbnailSide), or 0 for \(Self.defaultThumbnailSide)")
        }
        let id = try ImageReference.normalizedID(raw)
        let recent = recent, store = store
        return try await worker.run {
            guard let bytes = try recent.bytes(for: id) ?? store.imageBytes(id) else { throw ServingError.unknownImages([id]) }
            do {
                // A JPEG decodes at a reduced DCT scale when that still covers the thumbnail.
                let image = try ImageDecoder.decode([UInt8](bytes), minimumSize: ImageSize(width: side, height: side))
                let scale = min(1, Double(side) / Double(max(image.width, image.height)))
                let size = ImageSize(width: max(1, Int((Double(image.width) * scale).rounded())),
                                     height: max(1, Int((Double(image.height) * scale).rounded())))
                let small = size == image.size ? image : (ImageResizer.resize(image, to: size) ?? image)
                return ThumbnailImage(jpeg: Data(try JPEGEncoder.encode(small, quality: 80)), width: small.width, height: small.height)
            } catch let error as ImagingError {
                throw ServingError.invalidImage(error)
            }
        }
    }

    /// The cached map for `key`, refitted when the number of embeddings under its backbone moved
    /// by more than a tenth since the last fit, or the fit is older than `mapLifetime` (a full
    /// memory keeps its size while its images change).
    private func map(_ key: MapKey, _ candidates: [RecentImages.Candidate]) -> EmbeddingMap {
        let vectors = candidates.compactMap { $0.embedding?.backbone == key.backbone ? $0.embedding?.vector : nil }
        if let cached = maps.withLock({ $0[key] }), !Self.needsRefit(fittedOn: cached.fittedOn, at: cached.fittedAt, now: vectors.count) {
            return cached
        }
        let map = EmbeddingMap(fitting: vectors)
        maps.withLock { $0[key] = map }
        return map
    }

    static let mapLifetime: TimeInterval = 300

    /// Whether a map fitted on `fittedOn` embeddings at `at` is due again with `count` now: the
    /// set moved by more than a tenth, or the map is older than `mapLifetime`. (PCA and t-SNE maps alike.)
    static func needsRefit(fittedOn: Int, at: Date, now count: Int) -> Bool {
        abs(count - fittedOn) * 10 > fittedOn || Date().timeIntervalSince(at) >= mapLifetime
    }
}

/// Two principal axes of a set of embeddings: where each image sits on the review map.
struct EmbeddingMap: Sendable {
    let mean: [Float]
    let axes: [[Float]]
    let explainedVariance: [Double]
    let fittedOn: Int
    let fittedAt = Date()

    /// Points a fit looks at, at most: the axes of an evenly spaced sample are as good for a map,
    /// and a fit costs O(n·E²) (2,000 × 512² is about 0.5 G multiply-adds).
    static let maxFitPoints = 2000

    init(fitting vectors: [[Float]]) {
        let step = max(1, (vectors.count + Self.maxFitPoints - 1) / Self.maxFitPoints)
        let sample = stride(from: 0, to: vectors.count, by: step).map { vectors[$0] }
        let fit = PCA.fit(sample, components: 2)
        mean = fit.mean
        axes = fit.axes
        explainedVariance = fit.explainedVarianceRatio
        fittedOn = vectors.count
    }

    func place(_ vector: [Float]) -> (x: Float, y: Float)? {
        guard axes.count == 2, vector.count == mean.count else { return nil }
        func along(_ axis: [Float]) -> Float {
            var sum: Float = 0
            for i in vector.indices { sum += (vector[i] - mean[i]) * axis[i] }
            return sum
        }
        return (along(axes[0]), along(axes[1]))
    }
}

/// Where a page starts: right after the last candidate of the previous page in the listing's
/// order (keyset paging), so predictions that arrive between pages do not shift later pages.
struct PageToken {
    enum Key: Equatable {
        /// Margin order: (margin, image id) of the last candidate.
        case margin(Float, String)
        /// Newest-first order: the last candidate's sequence number.
        case sequence(UInt64)
    }

    let key: Key

    /// Parses a token from a previous page; nil for the first page.
    init?(_ text: String, order: CandidateQuery.Order) throws {
        guard !text.isEmpty else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        switch (order, parts.first) {
        case (.marginAscending, "m") where parts.count == 3:
            guard let bits = UInt32(parts[1], radix: 16), parts[2].count == 64 else { throw Self.invalid(text) }
            key = .margin(Float(bitPattern: bits), String(parts[2]))
        case (.newestFirst, "n") where parts.count == 2:
            guard let sequence = UInt64(parts[1]) else { throw Self.invalid(text) }
            key = .sequence(sequence)
        default:
            throw Self.invalid(text)
        }
    }

    init(after candidate: RecentImages.Candidate, order: CandidateQuery.Order) {
        switch order {
        case .marginAscending: key = .margin(candidate.seen.margin, candidate.imageID)
        case .newestFirst: key = .sequence(candidate.seen.sequence)
        }
    }

    var text: String {
        switch key {
        case .margin(let margin, let id): "m:\(String(margin.bitPattern, radix: 16)):\(id)"
        case .sequence(let sequence): "n:\(sequence)"
        }
    }

    /// Whether `candidate` comes after this token in the order.
    func isBefore(_ candidate: RecentImages.Candidate) -> Bool {
        switch key {
        case .margin(let margin, let id): (margin, id) < (candidate.seen.margin, candidate.imageID)
        case .sequence(let sequence): candidate.seen.sequence < sequence
        }
    }

    /// The listing's order: a strict total order, so pages never repeat or skip a candidate.
    static func precedes(_ a: RecentImages.Candidate, _ b: RecentImages.Candidate, order: CandidateQuery.Order) -> Bool {
        switch order {
        case .marginAscending: (a.seen.margin, a.imageID) < (b.seen.margin, b.imageID)
        case .newestFirst: a.seen.sequence > b.seen.sequence
        }
    }

    private static func invalid(_ text: String) -> ServingError {
        .invalidArgument("page_token \(EchoedValue.quoted(text)) is not one this listing returned (for this order): "
                         + "send next_page_token unchanged, or none for the first page")
    }
}
