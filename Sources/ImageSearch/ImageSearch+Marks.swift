import Crypto
import FeedbackStore
import Foundation
import Retraining
import Serving

extension ImageSearch {
    /// Records a round of relevant / not-relevant marks on `word`'s results, idempotently by
    /// `idempotencyKey`. A learned word's query moves by Rocchio and is stored in the same
    /// transaction as the marks. A class label's marks are feedback: relevant images are kept as
    /// the label, the others deselected ("not the label"), through the same intake as the lasso.
    public func mark(model: String, word rawWord: String, marks: [ResultMark], idempotencyKey: String,
                     userID: String) async throws -> MarkResult {
        guard (1...256).contains(idempotencyKey.count) else {
            throw ServingError.invalidArgument("idempotency_key is required (1-256 characters, unique per round of marks) "
                                               + "so a retried round is not counted twice")
        }
        guard (1...Self.maxMarks).contains(marks.count) else {
            throw ServingError.invalidArgument(marks.isEmpty ? "no marks: send at least one image marked relevant or not relevant"
                                               : "\(marks.count) marks in one round; the limit is \(Self.maxMarks)")
        }
        let word = try Self.word(rawWord)
        try await catchUp()
        let snapshot = try await host.snapshot(model: model, version: .serving)
        let name = snapshot.name
        var byImage: [String: Bool] = [:]
        for mark in marks {
            let id = try ImageReference.normalizedID(mark.imageID)
            if let earlier = byImage[id], earlier != mark.relevant {
                throw ServingError.invalidArgument("image \(id) is marked both relevant and not relevant in one round")
            }
            byImage[id] = mark.relevant
        }
        let ids = byImage.keys.sorted()
        if let label = snapshot.labels.first(where: { $0.lowercased() == word.key }) {
            let receipt = try await intake.submit(FeedbackSubmission(
                model: name, label: label, kept: ids.filter { byImage[$0]! }.map(ImageReference.id),
                deselected: ids.filter { !byImage[$0]! }.map(ImageReference.id), userID: userID,
                idempotencyKey: "search:" + idempotencyKey))
            return MarkResult(model: name, word: label, kind: .classLabel, rounds: 0, replayed: receipt.replayed,
                              queuedSamples: receipt.accepted)
        }
        guard let index = index(name), index.backbone == snapshot.backboneVersion else {
            if index(name) == nil { throw SearchError.notIndexed(ids, model: name) }
            throw SearchError.rebuilding(model: name, backbone: snapshot.backboneVersion)
        }
        let missing = ids.filter { !index.contains($0) }
        guard missing.isEmpty else { throw SearchError.notIndexed(missing, model: name) }
        let digest = SHA256.hash(data: Data((word.key + "\n" + ids.map { "\($0):\(byImage[$0]! ? 1 : 0)" }.joined(separator: ",")).utf8))
        let contentHash = Predictor.hex(digest)
        let rocchio = configuration.rocchio, backbone = index.backbone, dimension = index.dimension
        let stored = ids.map { SearchMark(imageID: $0, relevant: byImage[$0]!) }
        let outcome: MarkOutcome
        do {
            outcome = try await onWorker { store in
                try store.recordMarks(model: name, word: word.key, idempotencyKey: idempotencyKey, contentHash: contentHash,
                                      marks: stored) { previous, all in
                    var next = previous ?? LearnedQueryRecord(model: name, word: word.key, backbone: backbone, vector: [])
                    next.vector = Self.queryVector(rocchio, example: next.exampleImageID, marks: all, dimension: dimension,
                                                   vector: index.vector(of:))
                    next.backbone = backbone
                    next.rounds += 1
                    next.relevant = all.filter(\.relevant).count
                    next.notRelevant = all.count - next.relevant
                    next.updatedAt = Date()
                    return next
                }
            }
        } catch FeedbackStoreError.keyReused {
            throw SearchError.keyReused(idempotencyKey)
        }
        return MarkResult(model: name, word: word.key, kind: .learned, rounds: outcome.query?.rounds ?? 0,
                          replayed: outcome.replayed, queuedSamples: 0)
    }

    /// A learned word's query: its example and every mark on it, by Rocchio, under whatever
    /// backbone `vector` looks images up in. Images it cannot find (retention took them) drop out.
    static func queryVector(_ rocchio: Rocchio, example: String, marks: [SearchMark], dimension: Int,
                            vector: (String) -> [Float]?) -> [Float] {
        let start = example.isEmpty ? [] : vector(example) ?? []
        return rocchio.update(start, relevant: marks.filter(\.relevant).compactMap { vector($0.imageID) },
                              notRelevant: marks.filter { !$0.relevant }.compactMap { vector($0.imageID) }, dimension: dimension)
    }
}
