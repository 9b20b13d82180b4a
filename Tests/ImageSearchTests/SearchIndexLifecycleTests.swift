import BoundaryTestSupport
import FeedbackStore
import Foundation
import Metrics
import Retraining
import Serving
import Testing
import Training
@testable import ImageSearch

/// The index over time: kept in the store across restarts, trimmed by retention, rebuilt when the
/// serving version brings a new backbone.
@Suite struct SearchIndexLifecycleTests {
    @Test func theIndexSurvivesARestart() async throws {
        var fixture = try await SearchFixture()
        let ids = try await fixture.predict(.train, 0..<50)
        let before = try await fixture.search.findSimilar(model: "demo", image: .id(ids[9]), k: 8, filter: SearchFilter())
        fixture.shutdown()
        let restarted = try await SearchFixture(data: fixture.data)
        defer { restarted.shutdown() }
        #expect(restarted.search.status(model: "demo")?.count == 50)
        let after = try await restarted.search.findSimilar(model: "demo", image: .id(ids[9]), k: 8, filter: SearchFilter())
        #expect(after.matches.map(\.imageID) == before.matches.map(\.imageID))
        #expect(after.matches.map(\.score) == before.matches.map(\.score))
        #expect(after.matches.map(\.image.label) == before.matches.map(\.image.label))
    }

    @Test func retentionDropsTheOldestPastTheCapAndEverythingPastTheAge() async throws {
        var fixture = try await SearchFixture(configuration: SearchConfiguration(maxEntriesPerModel: 30, threads: 1))
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<40)
        #expect(fixture.search.status(model: "demo")?.count == 40)
        #expect(try await fixture.search.trim() == 10)
        #expect(fixture.search.status(model: "demo")?.count == 30)
        #expect(try fixture.store.searchEntries(model: "demo").count == 30)
        // The ten oldest went: none of them is found any more.
        for id in ids.prefix(10) {
            await #expect(throws: SearchError.notIndexed([id], model: "demo")) {
                try await fixture.search.findSimilar(model: "demo", image: .id(id), k: 1, filter: SearchFilter())
            }
        }
        #expect(try await fixture.search.trim(now: Date().addingTimeInterval(181 * 86_400)) == 30)
        #expect(fixture.search.status(model: "demo")?.count == 0)
    }

    @Test func aNewBackboneRebuildsTheIndexWhileTheOldOneAnswers() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<60)
        try await fixture.search.mark(model: "demo", word: "misty", marks: [ResultMark(imageID: ids[1], relevant: true)],
                                      idempotencyKey: "m", userID: "a")
        // Version 2: another network (a full retrain changes every layer).
        let directory = fixture.data.deletingLastPathComponent().appendingPathComponent("v2")
        _ = try Fixtures.writeTinyModel(to: directory, labels: DemoFixtures.labels, seed: 99)
        let version = try fixture.host.registry.register(modelDirectory: directory, name: "demo")
        _ = try await fixture.host.setServingVersion(version, of: "demo")
        // Until the rebuild swaps in, the old index answers by id and for learned words; scores
        // that need the new version's head say it is being rebuilt.
        let old = try await fixture.search.findSimilar(model: "demo", image: .id(ids[0]), k: 5, filter: SearchFilter())
        #expect(old.matches.count == 5)
        let word = try await fixture.search.search(model: "demo", word: "misty", pageSize: 5, pageToken: "", filter: SearchFilter())
        #expect(word.matches.count == 5)
        await #expect(throws: SearchError.rebuilding(model: "demo", backbone: version)) {
            try await fixture.search.search(model: "demo", word: DemoFixtures.labels[0], pageSize: 5, pageToken: "", filter: SearchFilter())
        }
        #expect(await fixture.search.rebuildStale() == ["demo"])
        #expect(fixture.search.status(model: "demo")?.backbone == version)
        #expect(fixture.search.status(model: "demo")?.count == 60)
        // Answers now come from the new version's embeddings.
        let vectors = try await fixture.embeddings()
        let new = try await fixture.search.findSimilar(model: "demo", image: .id(ids[0]), k: 5, filter: SearchFilter())
        #expect(new.matches.map(\.imageID) == SearchFixture.naiveNearest(vectors[ids[0]]!, in: vectors, k: 5, excluding: ids[0]))
        #expect(new.matches.allSatisfy { $0.image.version == version })
        // The learned word was recomputed from its marks under the new backbone.
        let query = try #require(try fixture.store.learnedQuery(model: "demo", word: "misty"))
        #expect(query.backbone == version && !query.vector.isEmpty)
        let relearned = try await fixture.search.search(model: "demo", word: "misty", pageSize: 1, pageToken: "", filter: SearchFilter())
        #expect(relearned.matches.first?.imageID == ids[1])
        #expect(await fixture.search.rebuildStale().isEmpty)
    }

    /// On a shared store, a backbone change is re-embedded once, by the trainer: a serving
    /// replica (`reembeds: false`, with no image bytes of its own to embed) keeps its old index
    /// until the trainer's rebuild is in the store, then loads the new vectors.
    @Test func aReplicaLoadsTheTrainersRebuildInsteadOfEmbeddingAgain() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<40)
        let serving = ServingConfiguration(maxBatchDelay: .milliseconds(1), inferenceThreads: 1, decodeWorkers: 1)
        let replicaPredictor = Predictor(host: fixture.host, configuration: serving, metrics: ServingMetrics(factory: NOOPMetricsHandler.instance))
        defer { replicaPredictor.shutdown() }
        var configuration = SearchConfiguration(threads: 1)
        configuration.reembeds = false
        let replica = ImageSearch(host: fixture.host, predictor: replicaPredictor, store: fixture.store, intake: fixture.intake,
                                  configuration: configuration)
        defer { replica.shutdown() }
        try await replica.load()
        #expect(replica.status(model: "demo")?.count == 40)
        let directory = fixture.data.deletingLastPathComponent().appendingPathComponent("v2-shared")
        _ = try Fixtures.writeTinyModel(to: directory, labels: DemoFixtures.labels, seed: 98)
        let version = try fixture.host.registry.register(modelDirectory: directory, name: "demo")
        _ = try await fixture.host.setServingVersion(version, of: "demo")
        #expect(await replica.rebuildStale().isEmpty, "waits for the trainer")
        #expect(replica.status(model: "demo")?.backbone != version)
        #expect(await fixture.search.rebuildStale() == ["demo"])
        #expect(try fixture.store.searchIndexBackbone(model: "demo") == version)
        #expect(await replica.rebuildStale() == ["demo"])
        #expect(replica.status(model: "demo")?.backbone == version)
        #expect(replica.status(model: "demo")?.count == 40, "the trainer's vectors: the replica has no bytes to embed")
        let fromReplica = try await replica.findSimilar(model: "demo", image: .id(ids[0]), k: 5, filter: SearchFilter())
        let fromTrainer = try await fixture.search.findSimilar(model: "demo", image: .id(ids[0]), k: 5, filter: SearchFilter())
        #expect(fromReplica.matches.map(\.imageID) == fromTrainer.matches.map(\.imageID))
    }

    @Test func badInputGetsAClearError() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<5)
        let search = fixture.search
        func message(_ body: () async throws -> Void) async -> String {
            do { try await body(); return "" } catch { return "\(error)" }
        }
        #expect(await message { _ = try await search.findSimilar(model: "demo", image: .id(ids[0]), k: 1001, filter: SearchFilter()) }
            .contains("k 1001 is out of range"))
        #expect(await message { _ = try await search.findSimilar(model: "demo", image: .id("xyz"), k: 1, filter: SearchFilter()) }
            .contains("is not an image id"))
        #expect(await message { _ = try await search.findSimilar(model: "demo", image: .id(String(repeating: "a", count: 64)), k: 1,
                                                                  filter: SearchFilter()) }
            .contains("not in the search index"))
        #expect(await message { _ = try await search.findSimilar(model: "demo", image: .bytes(Data("not an image".utf8)), k: 1,
                                                                  filter: SearchFilter()) } != "")
        #expect(await message { _ = try await search.findSimilar(model: "demo", image: .id(ids[0]), k: 1,
                                                                  filter: SearchFilter(predictedLabel: "zebra")) }
            .contains("zebra"))
        #expect(await message { _ = try await search.search(model: "demo", word: "  ", pageSize: 0, pageToken: "", filter: SearchFilter()) }
            .contains("1-100 characters"))
        #expect(await message { _ = try await search.search(model: "demo", word: "x", pageSize: 0, pageToken: "bogus", filter: SearchFilter()) }
            .contains("page_token"))
        #expect(await message { _ = try await search.search(model: "nope", word: "x", pageSize: 0, pageToken: "", filter: SearchFilter()) }
            .contains("nope"))
        #expect(await message { _ = try await search.mark(model: "demo", word: "x", marks: [], idempotencyKey: "k", userID: "") }
            .contains("no marks"))
        #expect(await message { _ = try await search.mark(model: "demo", word: "x", marks: [ResultMark(imageID: ids[0], relevant: true)],
                                                           idempotencyKey: "", userID: "") }
            .contains("idempotency_key is required"))
        #expect(await message { _ = try await search.mark(model: "demo", word: "x",
                                                           marks: [ResultMark(imageID: ids[0], relevant: true),
                                                                   ResultMark(imageID: ids[0], relevant: false)],
                                                           idempotencyKey: "k", userID: "") }
            .contains("both relevant and not relevant"))
        #expect(await message { _ = try await search.search(model: "demo", word: "x", pageSize: 0, pageToken: "", filter: SearchFilter(),
                                                             example: String(repeating: "b", count: 64)) }
            .contains("not in the search index"))
    }
}
