import FeedbackStore
import Foundation
import Imaging
import Serving
import SimilaritySearch
import Training

/// The indexes and what is under way for them, under one lock so a rebuild's swap and the
/// predictions that arrive meanwhile cannot miss each other.
struct Live: Sendable {
    var indexes: [String: ModelIndex] = [:]
    /// Predictions under the serving backbone that the model's index (still on the old one) cannot
    /// take; applied when the rebuild swaps in.
    var waiting: [String: [SearchEntryRecord]] = [:]
    var rebuilding: Set<String> = []
    /// Models whose stored entries include some under another backbone than the index's.
    var stale: Set<String> = []
    /// Whether `load` ran; before it, predictions wait in `early` (stored already) so the load
    /// cannot install an index that misses them.
    var loaded = false
    var early: [SearchEntryRecord] = []
}

extension ImageSearch {
    /// Predictions waiting for a rebuild, per model, at most (the oldest go first).
    static let maxWaiting = 100_000

    /// Loads every served model's stored entries under its serving backbone; models with entries
    /// under other backbones are left for `rebuildStale`.
    public func load() async throws {
        let serving = host.serving
        var loaded: [(String, ModelIndex.Contents, Bool)] = []
        var failure: (any Error)?
        do {
            loaded = try await rebuilder.run { [store] in
                try serving.map { name, snapshot -> (String, ModelIndex.Contents, Bool) in
                    var contents = ModelIndex.Contents(backbone: snapshot.backboneVersion, dimension: snapshot.embeddingSize)
                    var stale = false
                    for entry in try store.searchEntries(model: name) where !contents.upsert(entry) { stale = true }
                    return (name, contents, stale)
                }
            }
        } catch {
            failure = error  // Searches still work from here on, over what new predictions add.
        }
        live.withLock { live in
            for (name, contents, stale) in loaded {
                live.indexes[name] = ModelIndex(model: name, contents: contents)
                if stale { live.stale.insert(name) }
            }
            live.loaded = true
            let early = live.early
            live.early = []
            Self.index(early, into: &live)
        }
        if let failure { throw failure }
    }

    /// Applies what Predict published since the last call (the indexer's tick does this too):
    /// every query calls it first, so an image predicted before a search is found by it.
    @discardableResult
    public func catchUp() async throws -> Int {
        guard live.withLock({ $0.loaded }) else { throw SearchError.loading }
        guard let feed = predictor.feed else { return 0 }
        return try await writer.run { [self] in
            let pending = feed.take()
            return pending.isEmpty ? 0 : try apply(pending)
        }
    }

    /// Stores and indexes predictions that came under their model's serving backbone (a request
    /// pinned to another version is not indexed). Returns how many were indexed.
    @discardableResult
    public func apply(_ candidates: [RecentImages.Candidate]) throws -> Int {
        let serving = host.serving
        let records = candidates.compactMap { candidate -> SearchEntryRecord? in
            guard let embedding = candidate.embedding, let top = candidate.seen.labels.first,
                  serving[embedding.model]?.backboneVersion == embedding.backbone else { return nil }
            return SearchEntryRecord(model: embedding.model, imageID: candidate.imageID, backbone: embedding.backbone,
                                     version: candidate.seen.version, label: top.label, margin: candidate.seen.margin,
                                     isBoundary: candidate.seen.isBoundary, seenAt: candidate.seen.at, vector: embedding.vector)
        }
        guard !records.isEmpty else { return 0 }
        try store.saveSearchEntries(records)
        return live.withLock { live in
            guard live.loaded else {
                live.early += records
                return 0
            }
            return Self.index(records, into: &live)
        }
    }

    /// Adds stored records to their models' indexes, or keeps them for a rebuild when the index is
    /// still on an older backbone. Returns how many were indexed.
    @discardableResult
    static func index(_ records: [SearchEntryRecord], into live: inout Live) -> Int {
        var indexed = 0
        for record in records {
            guard let index = live.indexes[record.model] else {
                var contents = ModelIndex.Contents(backbone: record.backbone, dimension: record.vector.count)
                if contents.upsert(record) { indexed += 1 }
                live.indexes[record.model] = ModelIndex(model: record.model, contents: contents)
                continue
            }
            if index.withContents({ $0.upsert(record) }) {
                indexed += 1
            } else if index.backbone != record.backbone {
                var waiting = live.waiting[record.model, default: []]
                if waiting.count >= maxWaiting { waiting.removeFirst() }
                waiting.append(record)
                live.waiting[record.model] = waiting
            }
        }
        return indexed
    }

    /// Rebuilds, one model at a time, every index whose backbone is not its model's serving
    /// backbone (or whose store holds entries under another): the stored images are embedded
    /// again by the serving version while the old index keeps answering, then the new one is
    /// swapped in. Entries whose image bytes are gone (never stored, removed by retention) cannot
    /// be embedded again and are dropped. Learned queries are recomputed from their marks.
    /// Returns the models rebuilt.
    @discardableResult
    public func rebuildStale() async -> [String] {
        var rebuilt: [String] = []
        for (name, snapshot) in host.serving.sorted(by: { $0.key < $1.key }) {
            let due = live.withLock { live -> Bool in
                let index = live.indexes[name]
                guard !live.rebuilding.contains(name),
                      index == nil || index?.backbone != snapshot.backboneVersion || live.stale.contains(name) else { return false }
                live.rebuilding.insert(name)
                return true
            }
            guard due else { continue }
            defer { live.withLock { _ = $0.rebuilding.remove(name) } }
            do {
                let contents = try await rebuilder.run { [self] in try rebuild(name, snapshot: snapshot) }
                live.withLock { live in
                    var contents = contents
                    for record in live.waiting.removeValue(forKey: name) ?? [] { contents.upsert(record) }
                    live.indexes[name] = ModelIndex(model: name, contents: contents)
                    live.stale.remove(name)
                }
                rebuilt.append(name)
            } catch {
                // Left stale: the next pass tries again; the old index keeps answering.
                continue
            }
        }
        return rebuilt
    }

    /// Images embedded per forward pass of a rebuild.
    static let rebuildBatch = 64

    private func rebuild(_ name: String, snapshot: ModelSnapshot) throws -> ModelIndex.Contents {
        let target = snapshot.backboneVersion
        var contents = ModelIndex.Contents(backbone: target, dimension: snapshot.embeddingSize)
        guard configuration.reembeds else {
            // The trainer re-embeds once for every replica; until it says so, the old index answers.
            guard try store.searchIndexBackbone(model: name) == target else { throw SearchError.rebuilding(model: name, backbone: target) }
            for entry in try store.searchEntries(model: name) { contents.upsert(entry) }  // Entries under other backbones are left out.
            return contents
        }
        var stale: [SearchEntryRecord] = []
        for entry in try store.searchEntries(model: name) where !contents.upsert(entry) { stale.append(entry) }
        var dropped: [String] = []
        for start in stride(from: 0, to: stale.count, by: Self.rebuildBatch) {
            var batch: [(entry: SearchEntryRecord, bytes: Data)] = []
            for entry in stale[start..<min(start + Self.rebuildBatch, stale.count)] {
                if let bytes = try predictor.recentImages.bytes(for: entry.imageID) ?? store.imageBytes(entry.imageID) {
                    batch.append((entry, bytes))
                } else {
                    dropped.append(entry.imageID)
                }
            }
            let embedded = embed(batch, snapshot: snapshot)
            dropped += Set(batch.map(\.entry.imageID)).subtracting(embedded.map(\.imageID))
            try store.saveSearchEntries(embedded)
            for entry in embedded { contents.upsert(entry) }
        }
        try store.deleteSearchEntries(model: name, imageIDs: dropped)
        // Learned queries: the marks are what the word means; their images' new vectors say it
        // under the new backbone.
        for var query in try store.learnedQueries(model: name) where query.backbone != target {
            let marks = try store.searchMarks(model: name, word: query.word)
            query.vector = Self.queryVector(configuration.rocchio, example: query.exampleImageID, marks: marks,
                                            dimension: contents.index.dimension) { id in
                ImageKey(hex: id).flatMap { contents.index.vector(of: $0) }
            }
            query.backbone = target
            try store.saveLearnedQuery(query)
        }
        try store.setSearchIndexBackbone(model: name, backbone: target)
        return contents
    }

    /// `images` under `snapshot`'s backbone, as their prediction by it would say: one forward pass
    /// per batch on the rebuild thread's cores. Images that do not decode are left out.
    func embed(_ images: [(entry: SearchEntryRecord, bytes: Data)], snapshot: ModelSnapshot) -> [SearchEntryRecord] {
        var inputs: [[Float]] = [], kept: [SearchEntryRecord] = []
        for (entry, bytes) in images {
            guard let input = try? ImageInput.preprocess(bytes, spec: snapshot.preprocess) else { continue }
            inputs.append(input)
            kept.append(entry)
        }
        guard !inputs.isEmpty else { return [] }
        let predictions = Predictions.compute(snapshot.model, inputs: inputs, threads: max(1, configuration.rebuildThreads),
                                              withEmbeddings: true)
        return kept.indices.map { i -> SearchEntryRecord in
            let ranked = Prediction.rank(Array(predictions.row(i)), spec: snapshot.spec, topK: 2,
                                         threshold: snapshot.boundaryThreshold)
            var entry = kept[i]
            entry.backbone = snapshot.backboneVersion
            entry.version = snapshot.version
            entry.label = ranked.labels[0].label
            entry.margin = ranked.margin
            entry.isBoundary = ranked.isBoundary
            entry.vector = predictions.embedding(i)
            return entry
        }
    }

    /// Indexes images that reached the server without a prediction (feedback that sent the bytes),
    /// in the background on the rebuild thread. Returns at once; images already indexed are skipped.
    public func indexInBackground(_ images: [String: Data], model: String) {
        rebuilder.submit { [self] in  // After shutdown it is refused: nothing more is indexed.
            guard let snapshot = host.serving[model] else { return }
            let index = index(model)
            let batch = images.keys.sorted().filter { index?.contains($0) != true }.map { id in
                (entry: SearchEntryRecord(model: model, imageID: id, backbone: snapshot.backboneVersion, version: snapshot.version,
                                          label: "", margin: 0, isBoundary: false, seenAt: Date(), vector: []),
                 bytes: images[id]!)
            }
            let records = embed(batch, snapshot: snapshot)
            guard !records.isEmpty, (try? store.saveSearchEntries(records)) != nil else { return }
            live.withLock { live in
                if live.loaded { Self.index(records, into: &live) } else { live.early += records }
            }
        }
    }

    /// Retention: entries older than the store's age limit, then the oldest past the per-model
    /// cap, leave the store and the index. Returns the entries removed.
    @discardableResult
    public func trim(now: Date = Date()) async throws -> Int {
        try await writer.run { [self] in try trimNow(now) }
    }

    private func trimNow(_ now: Date) throws -> Int {
        var removed = 0
        for (name, index) in live.withLock({ $0.indexes }) {
            let ids = try store.trimSearchEntries(model: name, maxEntries: configuration.maxEntriesPerModel,
                                                  seenBefore: now.addingTimeInterval(-configuration.maxAge))
            index.withContents { contents in
                for id in ids { if let key = ImageKey(hex: id) { contents.remove(key) } }
            }
            removed += ids.count
        }
        return removed
    }

    /// Whether an index grew a tenth past the cap (retention should run before the next pass).
    var isOverCap: Bool {
        live.withLock { $0.indexes.values.contains { $0.count > configuration.maxEntriesPerModel + configuration.maxEntriesPerModel / 10 } }
    }
}

extension ImageSearch {
    /// Entries other processes wrote up to this long before their prediction's time are picked
    /// up: a replica writes its predictions in batches, a little after they happen.
    static let followOverlap: TimeInterval = 5

    /// Indexes what other processes sharing the store added since the last call (under each
    /// model's serving backbone; a rebuild picks up the rest). Re-reading the overlap is
    /// harmless: indexing an entry again replaces it. Returns the entries read.
    @discardableResult
    public func follow(now: Date = Date()) async throws -> Int {
        guard live.withLock({ $0.loaded }) else { return 0 }
        let since = followedUntil.withLock { $0 }.addingTimeInterval(-Self.followOverlap)
        let serving = host.serving
        let records = try await writer.run { [store] in
            try serving.flatMap { name, snapshot in
                try store.searchEntries(model: name, seenSince: since).filter { $0.backbone == snapshot.backboneVersion }
            }
        }
        followedUntil.withLock { $0 = now }  // Only after the read: a failed one is read again next time.
        guard !records.isEmpty else { return 0 }
        live.withLock { live in _ = Self.index(records, into: &live) }
        return records.count
    }
}
