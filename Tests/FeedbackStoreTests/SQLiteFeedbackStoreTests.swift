import Foundation
import Testing
@testable import FeedbackStore

@Suite struct SQLiteFeedbackStoreTests {
    static func store() throws -> (SQLiteFeedbackStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedback-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("feedback.sqlite").path
        return (try SQLiteFeedbackStore(path: path), path)
    }

    static func event(key: String, label: String = "cat", kept: [String] = ["a", "b"], deselected: [String] = ["c"],
                      model: String = "m") -> FeedbackEvent {
        let samples = kept.map { FeedbackSample(imageID: $0, kind: .positive, label: label) }
            + deselected.map { FeedbackSample(imageID: $0, kind: .negative, label: label) }
        let images = Dictionary(uniqueKeysWithValues: (kept + deselected).map { ($0, Data("bytes of \($0)".utf8)) })
        return FeedbackEvent(model: model, idempotencyKey: key, userID: "ana", label: label, samples: samples, images: images)
    }

    @Test func recordsSamplesAndCountsThemPerLabelAndKind() throws {
        let (store, _) = try Self.store()
        let receipt = try store.record(Self.event(key: "k1"))
        #expect(receipt.accepted == 3 && receipt.duplicates == 0 && !receipt.replayed && receipt.queueDepth == 3)
        _ = try store.record(Self.event(key: "k2", label: "dog", kept: ["c"], deselected: []))
        let queue = try store.queue(model: "m")
        #expect(queue.pending == 4 && queue.total == 4 && queue.events == 2)
        #expect(queue.byLabel["cat"]?.positive == 2 && queue.byLabel["cat"]?.negative == 1)
        #expect(queue.byLabel["dog"]?.positive == 1)
        #expect(try store.queue(model: "other").pending == 0, "models are counted apart")
        #expect(try store.imageBytes("c") == Data("bytes of c".utf8))
        #expect(try store.storedImages(among: ["a", "zzz", "c"]) == ["a", "c"])
    }

    /// A retried submission is acknowledged with the first receipt and stores nothing more.
    @Test func sameIdempotencyKeyIsCountedOnce() throws {
        let (store, _) = try Self.store()
        let first = try store.record(Self.event(key: "retry-me"))
        let again = try store.record(Self.event(key: "retry-me"))
        #expect(again.replayed && again.eventID == first.eventID && again.accepted == first.accepted)
        #expect(try store.queue(model: "m").pending == 3)
        #expect(try store.queue(model: "m").events == 1)
    }

    /// A sample identical to one still pending is a duplicate; after a retrain consumes it, the
    /// same judgement counts again.
    @Test func duplicatesOfPendingSamplesAreNotStoredTwice() throws {
        let (store, _) = try Self.store()
        _ = try store.record(Self.event(key: "one"))
        let second = try store.record(Self.event(key: "two", kept: ["a", "d"], deselected: []))
        #expect(second.accepted == 1 && second.duplicates == 1)
        let pending = try store.pendingSamples(model: "m")
        #expect(pending.map(\.sample.imageID) == ["a", "b", "c", "d"])
        try store.markConsumed(pending.map(\.id), byVersion: 2)
        #expect(try store.queue(model: "m").pending == 0)
        #expect(try store.record(Self.event(key: "three", kept: ["a"], deselected: [])).accepted == 1)
    }

    /// Embeddings come back bit for bit, per model version, and only for images the store holds.
    @Test func embeddingsAreCachedPerModelVersion() throws {
        let (store, _) = try Self.store()
        var event = Self.event(key: "e")
        event.embeddings = ["a": [0.5, -1.25, 3], "zzz": [1, 2, 3]]
        event.embeddingVersion = 4
        _ = try store.record(event)
        try store.storeEmbeddings(["b": [7, 8, 9]], model: "m", version: 4)
        let found = try store.embeddings(model: "m", version: 4, imageIDs: ["a", "b", "c", "zzz"])
        #expect(found == ["a": [0.5, -1.25, 3], "b": [7, 8, 9]], "no row for an image without bytes")
        #expect(try store.embeddings(model: "m", version: 5, imageIDs: ["a"]).isEmpty, "another backbone")
    }

    /// What was acknowledged is there after the store is closed and reopened.
    @Test func acknowledgedFeedbackSurvivesReopening() throws {
        var (store, path) = try Self.store()
        for index in 0..<20 { _ = try store.record(Self.event(key: "k\(index)", kept: ["img\(index)"], deselected: [])) }
        store = try SQLiteFeedbackStore(path: path)
        #expect(try store.queue(model: "m").pending == 20)
        #expect(try store.record(Self.event(key: "k7", kept: ["img7"], deselected: [])).replayed)
    }
}
