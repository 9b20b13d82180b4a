import Foundation
import Testing
@testable import FeedbackStore
@testable import PostgresStore

/// Test fixtures: image ids whose evaluation share is known (the first hex byte decides).
enum StoreFixtures {
    static func store() throws -> (SQLiteFeedbackStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedback-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("feedback.sqlite").path
        return (try SQLiteFeedbackStore(path: path), path)
    }

    /// A 64-hex-digit id: held out when `heldOut` (first byte 0x00), trainable otherwise (0x01).
    static func id(_ n: Int, heldOut: Bool = false) -> String {
        (heldOut ? "00" : "01") + String(format: "%062x", n)
    }

    static func event(key: String, label: String = "cat", kept: [String] = [id(1), id(2)], deselected: [String] = [id(3)],
                      model: String = "m", user: String = "ana", hash: String? = nil) -> FeedbackEvent {
        let samples = kept.map { FeedbackSample(imageID: $0, kind: .positive, label: label) }
            + deselected.map { FeedbackSample(imageID: $0, kind: .negative, label: label) }
        let images = Dictionary((kept + deselected).map { ($0, Data("bytes of \($0)".utf8)) }) { first, _ in first }
        return FeedbackEvent(model: model, idempotencyKey: key, contentHash: hash ?? "\(label)|\(kept)|\(deselected)|\(user)",
                             userID: user, label: label, samples: samples, images: images)
    }
}

@Suite struct FeedbackStoreTests {
    @Test(arguments: StoreKind.allCases) func recordsSamplesAndCountsThemPerLabelAndKind(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        let receipt = try store.record(StoreFixtures.event(key: "k1"))
        #expect(receipt.accepted == 3 && receipt.duplicates == 0 && !receipt.replayed && receipt.queueDepth == 3)
        _ = try store.record(StoreFixtures.event(key: "k2", label: "dog", kept: [StoreFixtures.id(3)], deselected: []))
        let queue = try store.queue(model: "m")
        #expect(queue.pending == 4 && queue.total == 4 && queue.events == 2)
        #expect(queue.byLabel["cat"]?.positive == 2 && queue.byLabel["cat"]?.negative == 1)
        #expect(queue.byLabel["dog"]?.positive == 1)
        #expect(queue.storedImages == 3 && queue.imageBytes > 0 && queue.databaseBytes > 0)
        #expect(try store.queue(model: "other").pending == 0, "models are counted apart")
        #expect(try store.imageBytes(StoreFixtures.id(3)) == Data("bytes of \(StoreFixtures.id(3))".utf8))
        #expect(try store.storedImages(among: [StoreFixtures.id(1), "zzz", StoreFixtures.id(3)]) == [StoreFixtures.id(1), StoreFixtures.id(3)])
    }

    /// A retried submission is acknowledged with the first receipt and stores nothing more; the
    /// same key with other content is refused, not silently replayed.
    @Test(arguments: StoreKind.allCases) func sameIdempotencyKeyIsCountedOnceAndNewContentIsRefused(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        let first = try store.record(StoreFixtures.event(key: "retry-me"))
        let again = try store.record(StoreFixtures.event(key: "retry-me"))
        #expect(again.replayed && again.eventID == first.eventID && again.accepted == first.accepted)
        #expect(throws: FeedbackStoreError.keyReused(key: "retry-me", eventID: first.eventID)) {
            try store.record(StoreFixtures.event(key: "retry-me", kept: [StoreFixtures.id(9)]))
        }
        let queue = try store.queue(model: "m")
        #expect(queue.pending == 3 && queue.events == 1)
    }

    /// A sample identical to an open one is a duplicate; after a retrain consumes it, the same
    /// judgement counts again.
    @Test(arguments: StoreKind.allCases) func duplicatesOfOpenSamplesAreNotStoredTwice(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        _ = try store.record(StoreFixtures.event(key: "one"))
        let second = try store.record(StoreFixtures.event(key: "two", kept: [StoreFixtures.id(1), StoreFixtures.id(4)], deselected: []))
        #expect(second.accepted == 1 && second.duplicates == 1)
        let pending = try store.pendingSamples(model: "m")
        #expect(pending.map(\.sample.imageID) == [1, 2, 3, 4].map { StoreFixtures.id($0) })
        #expect(pending.allSatisfy { $0.userID == "ana" && $0.state == .pending })
        try store.setState(pending.map(\.id), to: .consumed, version: 2)
        #expect(try store.queue(model: "m").pending == 0)
        #expect(try store.record(StoreFixtures.event(key: "three", kept: [StoreFixtures.id(1)], deselected: [])).accepted == 1)
    }

    /// One transaction for many events: a refused event (its user over quota) leaves the others
    /// stored, each with its own receipt.
    @Test(arguments: StoreKind.allCases) func batchesCommitEachEventAllOrNothing(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        let events = [StoreFixtures.event(key: "a", user: "u1"),
                      StoreFixtures.event(key: "b", kept: [StoreFixtures.id(5)], deselected: [], user: "u2"),
                      StoreFixtures.event(key: "c", kept: (10..<20).map { StoreFixtures.id($0) }, deselected: [], user: "u2")]
        let results = try store.record(events, policy: RecordPolicy(quota: UserQuota(samples: 5)))
        #expect(results.count == 3)
        #expect((try? results[0].get())?.accepted == 3)
        #expect((try? results[1].get())?.accepted == 1)
        guard case .failure(.quotaExceeded(let user, let used, let requested, let limit, _)) = results[2] else {
            Issue.record("the third event passes u2's quota and must be refused: \(results[2])")
            return
        }
        #expect(user == "u2" && used == 1 && requested == 10 && limit == 5)
        #expect(try store.queue(model: "m").total == 4, "the refused event stored nothing")
        #expect((try? results[1].get())?.queueDepth == 4, "depths are read after the whole batch")
    }

    /// Embeddings come back bit for bit, per backbone; image keys only for stored images, base-data
    /// keys always; pruning keeps only the listed backbones.
    @Test(arguments: StoreKind.allCases) func embeddingsAreCachedPerBackboneAndPruned(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        var event = StoreFixtures.event(key: "e")
        event.embeddings = [StoreFixtures.id(1): [0.5, -1.25, 3], "ffff": [1, 2, 3]]
        event.embeddingVersion = 4
        _ = try store.record(event)
        try store.storeEmbeddings([StoreFixtures.id(2): [7, 8, 9], "demo:val:3": [4, 5, 6]], model: "m", version: 4)
        try store.storeEmbeddings(["demo:val:3": [1, 1, 1]], model: "m", version: 5)
        let found = try store.embeddings(model: "m", version: 4, keys: [StoreFixtures.id(1), StoreFixtures.id(2), "ffff", "demo:val:3"])
        #expect(found == [StoreFixtures.id(1): [0.5, -1.25, 3], StoreFixtures.id(2): [7, 8, 9], "demo:val:3": [4, 5, 6]])
        #expect(try store.pruneEmbeddings(model: "m", keepVersions: [5]) == 3)
        #expect(try store.embeddings(model: "m", version: 4, keys: [StoreFixtures.id(1), "demo:val:3"]).isEmpty)
        #expect(try store.embeddings(model: "m", version: 5, keys: ["demo:val:3"]) == ["demo:val:3": [1, 1, 1]])
    }

    /// A commit is fsynced before `record` returns: the connection that writes runs with
    /// `synchronous = FULL` (GRDB's pool sets NORMAL when it enables WAL, after our own set-up).
    @Test func theWriterSyncsEveryCommit() throws {
        let (sqlite, _) = try StoreFixtures.store()
        let writerSetting = try sqlite.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writerSetting == 2)
        let journal = try sqlite.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    /// The PostgreSQL store's sessions commit with `synchronous_commit = on` whatever the
    /// server's default, and end a transaction left idle instead of letting it hold back vacuum.
    @Test func postgresSessionsCommitDurably() throws {
        guard let store = try TestStore.open(.postgres).store as? PostgresFeedbackStore else {
            Issue.record("not a PostgreSQL store")
            return
        }
        let settings = try store.connections.withConnection { session in
            (try session.scalar("SHOW synchronous_commit", as: String.self), try session.scalar("SHOW idle_in_transaction_session_timeout", as: String.self))
        }
        #expect(settings.0 == "on" && settings.1 == "1min")
    }

    /// What was acknowledged is there after the store is closed and reopened.
    @Test(arguments: StoreKind.allCases) func acknowledgedFeedbackSurvivesReopening(kind: StoreKind) throws {
        var opened = try TestStore.open(kind)
        var store = opened.store
        for index in 0..<20 {
            _ = try store.record(StoreFixtures.event(key: "k\(index)", kept: [StoreFixtures.id(100 + index)], deselected: []))
        }
        try opened.reopen()
        store = opened.store
        #expect(try store.queue(model: "m").pending == 20)
        #expect(try store.record(StoreFixtures.event(key: "k7", kept: [StoreFixtures.id(107)], deselected: [])).replayed)
    }
}
