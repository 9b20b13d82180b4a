import Foundation
import Testing
@testable import FeedbackStore

/// The search index's entries, learned words and marks, the same on both stores.
@Suite struct SearchStoreTests {
    static func entry(_ n: Int, model: String = "m", seen: Double, vector: [Float] = [1, 0, -2.5]) -> SearchEntryRecord {
        SearchEntryRecord(model: model, imageID: StoreFixtures.id(n), backbone: 1, version: 2, label: "cat", margin: 0.125,
                          isBoundary: n % 2 == 0, seenAt: Date(timeIntervalSince1970: seen), vector: vector)
    }

    /// Entries come back bit for bit, oldest first; saving one again replaces it; trimming drops
    /// the ones seen before the cutoff, then the oldest past the cap, and says which.
    @Test(arguments: StoreKind.allCases) func entriesRoundTripAndTrimOldestFirst(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        try store.saveSearchEntries((1...5).map { Self.entry($0, seen: Double(1000 + $0)) } + [Self.entry(9, model: "other", seen: 1)])
        try store.saveSearchEntries([Self.entry(3, seen: 2000, vector: [0.5, 0.25])])  // Seen again, re-embedded.
        var entries = try store.searchEntries(model: "m")
        #expect(entries.map(\.imageID) == [1, 2, 4, 5, 3].map { StoreFixtures.id($0) })
        #expect(entries.last?.vector == [0.5, 0.25] && entries.first == Self.entry(1, seen: 1001))
        #expect(try store.searchModels() == ["m", "other"])
        #expect(try store.searchEntries(model: "m", seenSince: Date(timeIntervalSince1970: 1004)).map(\.imageID)
                == [4, 5, 3].map { StoreFixtures.id($0) }, "what was seen since, oldest first")
        let trimmed = try store.trimSearchEntries(model: "m", maxEntries: 2, seenBefore: Date(timeIntervalSince1970: 1002))
        #expect(trimmed == [StoreFixtures.id(1), StoreFixtures.id(2), StoreFixtures.id(4)])
        try store.deleteSearchEntries(model: "m", imageIDs: [StoreFixtures.id(5), "not-there"])
        entries = try store.searchEntries(model: "m")
        #expect(entries.map(\.imageID) == [StoreFixtures.id(3)])
        #expect(try store.searchEntries(model: "other").count == 1, "other models are untouched")
        #expect(try store.searchIndexBackbone(model: "m") == nil)
        try store.setSearchIndexBackbone(model: "m", backbone: 3)
        try store.setSearchIndexBackbone(model: "m", backbone: 4)
        #expect(try store.searchIndexBackbone(model: "m") == 4 && store.searchIndexBackbone(model: "other") == nil)
    }

    /// A round of marks is stored with the query it updates; the same key and content is a replay
    /// that changes nothing, the same key with other marks is refused; deleting a word forgets
    /// its marks and keys.
    @Test(arguments: StoreKind.allCases) func marksAreIdempotentAndUpdateTheirQuery(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        let marks = [SearchMark(imageID: "a", relevant: true), SearchMark(imageID: "b", relevant: false)]
        func update(_ query: LearnedQueryRecord?, _ all: [SearchMark]) -> LearnedQueryRecord? {
            LearnedQueryRecord(model: "m", word: "red", backbone: 1, vector: [Float(all.count)], rounds: (query?.rounds ?? 0) + 1,
                               relevant: all.filter(\.relevant).count, notRelevant: all.filter { !$0.relevant }.count,
                               updatedAt: Date(timeIntervalSince1970: 5))
        }
        let first = try store.recordMarks(model: "m", word: "red", idempotencyKey: "k1", contentHash: "h1", marks: marks, update: update)
        #expect(!first.replayed && first.query?.rounds == 1 && first.query?.vector == [2])
        let replay = try store.recordMarks(model: "m", word: "red", idempotencyKey: "k1", contentHash: "h1", marks: marks, update: update)
        #expect(replay.replayed && replay.query == first.query)
        #expect(throws: FeedbackStoreError.keyReused(key: "k1", eventID: 0)) {
            try store.recordMarks(model: "m", word: "red", idempotencyKey: "k1", contentHash: "h2", marks: [], update: update)
        }
        let second = try store.recordMarks(model: "m", word: "red", idempotencyKey: "k2", contentHash: "h3",
                                           marks: [SearchMark(imageID: "b", relevant: true), SearchMark(imageID: "c", relevant: true)],
                                           update: update)
        #expect(second.query?.rounds == 2 && second.query?.relevant == 3 && second.query?.notRelevant == 0, "the latest mark per image")
        #expect(try store.searchMarks(model: "m", word: "red").map(\.imageID) == ["a", "b", "c"])
        #expect(try store.learnedQuery(model: "m", word: "red") == second.query)
        try store.saveLearnedQuery(LearnedQueryRecord(model: "m", word: "blue", backbone: 1, vector: [], exampleImageID: "x",
                                                      updatedAt: Date(timeIntervalSince1970: 7)))
        #expect(try store.learnedQueries(model: "m").map(\.word) == ["blue", "red"])
        #expect(try store.deleteLearnedQuery(model: "m", word: "red"))
        #expect(!(try store.deleteLearnedQuery(model: "m", word: "red")))
        #expect(try store.searchMarks(model: "m", word: "red").isEmpty)
        let again = try store.recordMarks(model: "m", word: "red", idempotencyKey: "k1", contentHash: "h9", marks: marks, update: update)
        #expect(!again.replayed && again.query?.rounds == 1, "a deleted word's keys may start it again")
    }
}
