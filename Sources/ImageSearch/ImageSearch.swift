import Crypto
import FeedbackStore
import Foundation
import Retraining
import Serving
import SimilaritySearch
import Synchronization
import Tensor
import Training

/// Search over every image the service has predicted: by picture (nearest embeddings), by class
/// label (the classifier's probability) and by any other word (a query vector learned from marks).
/// The index is fed by `PredictionFeed` and kept in the store (`SearchIndexer` runs that loop);
/// marks on a class label become feedback, so search and the lasso fill one training queue.
public final class ImageSearch: Sendable {
    let host: ModelHost
    let predictor: Predictor
    let store: any FeedbackStore & SearchStore
    let intake: FeedbackIntake
    let configuration: SearchConfiguration
    let live = Mutex(Live())
    /// Up to when other processes' entries were followed (`follow`): from the start, since
    /// `load` read everything before it.
    let followedUntil = Mutex(Date())
    /// Searches run here, one at a time, each on every core of `pool`.
    private let worker = WorkerPool(name: "boundary-search", workers: 1)
    private let pool: ComputePool
    /// Rebuilds after a backbone change run here, so searches keep answering.
    let rebuilder = WorkerPool(name: "boundary-search-rebuild", workers: 1)
    /// Store writes of new entries and retention: fsyncs stay off the cooperative pool.
    let writer = WorkerPool(name: "boundary-search-writer", workers: 1)

    public static let defaultK = 10
    public static let maxK = 1000
    public static let defaultPageSize = 20
    /// How deep paging may go (offset + page size).
    public static let maxDepth = 10_000
    public static let maxMarks = 1000

    public init(host: ModelHost, predictor: Predictor, store: any FeedbackStore & SearchStore, intake: FeedbackIntake,
                configuration: SearchConfiguration = SearchConfiguration()) {
        self.host = host
        self.predictor = predictor
        self.store = store
        self.intake = intake
        self.configuration = configuration
        pool = ComputePool(threads: max(1, configuration.threads))
    }

    public func shutdown() {
        worker.shutdown()
        rebuilder.shutdown()
        writer.shutdown()
    }

    /// Images in each model's index.
    public func indexedCounts() -> [String: Int] {
        live.withLock { $0.indexes }.mapValues(\.count)
    }

    /// Predictions the feed dropped since the start because indexing fell behind.
    public var droppedPredictions: Int { predictor.feed?.dropped ?? 0 }

    /// Images in the index of `model`, and the backbone they were embedded by.
    public func status(model: String) -> (count: Int, backbone: Int)? {
        index(model).map { ($0.count, $0.backbone) }
    }

    // MARK: By picture

    /// The `k` images most like `image` (an indexed image id, or uploaded bytes, which are
    /// predicted and indexed first), the image itself left out.
    public func findSimilar(model: String, image: ImageReference, k: Int, filter: SearchFilter) async throws -> SimilarResults {
        let k = try Self.checkedCount(k, name: "k", default: Self.defaultK, max: Self.maxK)
        try await catchUp()
        let snapshot = try await host.snapshot(model: model, version: .serving)
        try checkFilter(filter, snapshot: snapshot)
        let name = snapshot.name
        let queryID: String, vector: [Float]
        let index = index(name)
        switch image {
        case .id(let raw):
            // The image's vector in the index itself: while a rebuild runs, the old index answers in
            // its own embedding space.
            queryID = try ImageReference.normalizedID(raw)
            guard let index, let found = index.vector(of: queryID) else { throw SearchError.notIndexed([queryID], model: name) }
            vector = found
        case .bytes(let bytes):
            let prediction = try await predictor.predict(PredictionRequest(model: name, image: bytes, includeEmbedding: true))
            queryID = prediction.imageID
            vector = prediction.embedding ?? []
            guard index == nil || index?.backbone == snapshot.backboneVersion else {
                throw SearchError.rebuilding(model: name, backbone: snapshot.backboneVersion)
            }
        }
        guard let index else { return SimilarResults(model: name, matches: [], queryImageID: queryID) }
        let pool = pool
        let matches = try await worker.run {
            try index.nearest(vector, k: k, filter: filter, excluding: ImageKey(hex: queryID), pool: pool)
        }
        return SimilarResults(model: name, matches: matches, queryImageID: queryID)
    }

    // MARK: By word

    /// Images for `word`, best first, a page at a time. A class label ranks by the classifier's
    /// probability; any other word by its learned query, which `example` (an indexed image id)
    /// can start when it has none yet.
    public func search(model: String, word rawWord: String, pageSize: Int, pageToken: String, filter: SearchFilter,
                       example: String = "") async throws -> WordResults {
        let size = try Self.checkedCount(pageSize, name: "page_size", default: Self.defaultPageSize, max: Self.maxK)
        let offset = try Self.offset(pageToken)
        guard offset + size <= Self.maxDepth else {
            throw ServingError.invalidArgument("results go \(Self.maxDepth) deep at most; narrow the search with a filter")
        }
        try await catchUp()
        let snapshot = try await host.snapshot(model: model, version: .serving)
        try checkFilter(filter, snapshot: snapshot)
        let name = snapshot.name
        let word = try Self.word(rawWord)
        let index = index(name)
        /// One page of `matches` (which run one past the page when there is more).
        func page(_ matches: [ImageMatch], kind: WordResults.Kind, word shown: String? = nil, rounds: Int,
                  hint: String = "") -> WordResults {
            let slice = Array(matches.dropFirst(offset).prefix(size))
            let more = matches.count > offset + size && offset + size < Self.maxDepth
            return WordResults(model: name, word: shown ?? word.text, kind: kind, matches: slice,
                               nextPageToken: more ? "o:\(offset + size)" : "", rounds: rounds, hint: hint)
        }
        if let label = snapshot.labels.firstIndex(where: { $0.lowercased() == word.key }) {
            guard let index else { return page([], kind: .classLabel, rounds: 0) }
            guard index.backbone == snapshot.backboneVersion, let head = snapshot.model.head else {
                throw SearchError.rebuilding(model: name, backbone: snapshot.backboneVersion)
            }
            let matches = try await worker.run {
                index.rankedByClass(label, weight: head.weight, bias: head.bias, among: snapshot.model.heads.head(containing: label).range,
                                    filter: filter, limit: offset + size + 1)
            }
            return page(matches, kind: .classLabel, word: snapshot.labels[label], rounds: 0)
        }
        var query = try await onWorker { store in try store.learnedQuery(model: name, word: word.key) }
        if query.map({ $0.vector.isEmpty }) ?? true, !example.isEmpty {
            query = try await startQuery(name, word: word.key, example: example, backbone: snapshot.backboneVersion)
        }
        guard let query, !query.vector.isEmpty else {
            return page([], kind: .learned, rounds: query?.rounds ?? 0,
                        hint: "no results yet for '\(word.text)': mark some images as relevant, or start it from an example image")
        }
        // A query learned under the index's backbone answers even while a rebuild for a new one runs.
        guard let index, index.backbone == query.backbone else {
            throw SearchError.rebuilding(model: name, backbone: snapshot.backboneVersion)
        }
        let pool = pool
        let matches = try await worker.run {
            try index.nearest(query.vector, k: offset + size + 1, filter: filter, excluding: nil, pool: pool)
        }
        return page(matches, kind: .learned, rounds: query.rounds)
    }

    /// Learned queries of `model`, by word.
    public func queries(model: String) async throws -> (model: String, queries: [LearnedQueryRecord]) {
        let name = try await host.snapshot(model: model, version: .serving).name
        return (name, try await onWorker { store in try store.learnedQueries(model: name) })
    }

    public func deleteQuery(model: String, word rawWord: String) async throws -> String {
        let name = try await host.snapshot(model: model, version: .serving).name
        let word = try Self.word(rawWord)
        guard try await onWorker({ store in try store.deleteLearnedQuery(model: name, word: word.key) }) else {
            throw SearchError.unknownQuery(word.text, model: name)
        }
        return name
    }

    // MARK: Helpers

    func index(_ model: String) -> ModelIndex? { live.withLock { $0.indexes[model] } }

    func onWorker<T: Sendable>(_ body: @escaping @Sendable (any FeedbackStore & SearchStore) throws -> T) async throws -> T {
        let store = store
        return try await worker.run { try body(store) }
    }

    /// Gives `word` a start: the example image, with any marks it already has.
    private func startQuery(_ model: String, word: String, example: String, backbone: Int) async throws -> LearnedQueryRecord {
        let id = try ImageReference.normalizedID(example)
        guard let index = index(model), index.backbone == backbone, index.contains(id) else {
            throw SearchError.notIndexed([id], model: model)
        }
        let rocchio = configuration.rocchio
        return try await onWorker { store in
            var query = try store.learnedQuery(model: model, word: word)
                ?? LearnedQueryRecord(model: model, word: word, backbone: backbone, vector: [])
            query.exampleImageID = id
            query.backbone = backbone
            query.vector = Self.queryVector(rocchio, example: id, marks: try store.searchMarks(model: model, word: word),
                                            dimension: index.dimension, vector: index.vector(of:))
            query.updatedAt = Date()
            try store.saveLearnedQuery(query)
            return query
        }
    }

    private func checkFilter(_ filter: SearchFilter, snapshot: ModelSnapshot) throws {
        if !filter.predictedLabel.isEmpty, !snapshot.labels.contains(filter.predictedLabel) {
            throw ServingError.unknownLabel(filter.predictedLabel, model: snapshot.name, labels: snapshot.labels)
        }
        if let after = filter.seenAfter, let before = filter.seenBefore, after >= before {
            throw ServingError.invalidArgument("seen_after must be earlier than seen_before")
        }
    }

    static func checkedCount(_ value: Int, name: String, default fallback: Int, max: Int) throws -> Int {
        if value == 0 { return fallback }
        guard (1...max).contains(value) else {
            throw ServingError.invalidArgument("\(name) \(value) is out of range: send 1-\(max), or 0 for \(fallback)")
        }
        return value
    }

    static func offset(_ token: String) throws -> Int {
        guard !token.isEmpty else { return 0 }
        guard token.hasPrefix("o:"), let offset = Int(token.dropFirst(2)), (0..<maxDepth).contains(offset) else {
            throw ServingError.invalidArgument("page_token \(EchoedValue.quoted(token)) is not one a search returned: "
                                               + "send next_page_token unchanged, or none for the first page")
        }
        return offset
    }

    /// A word as typed (trimmed) and its key (lower case): "Sunset" and "sunset" are one query.
    static func word(_ raw: String) throws -> (text: String, key: String) {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(text.count) else {
            throw ServingError.invalidArgument("the search word must have 1-100 characters (got \(text.count))")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ServingError.invalidArgument("the search word contains control characters")
        }
        return (text, text.lowercased())
    }
}
