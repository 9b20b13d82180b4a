import BoundaryTestSupport
import FeedbackStore
import Foundation
import Retraining
import Serving
import Testing
@testable import ImageSearch

@Suite struct ImageSearchTests {
    @Test func findSimilarReturnsTheExactNearestImagesWithoutTheQuery() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<120)
        let vectors = try await fixture.embeddings()
        for query in [ids[0], ids[57], ids[119]] {
            let results = try await fixture.search.findSimilar(model: "demo", image: .id(query), k: 7, filter: SearchFilter())
            #expect(results.queryImageID == query)
            #expect(results.matches.map(\.imageID) == SearchFixture.naiveNearest(vectors[query]!, in: vectors, k: 7, excluding: query))
            #expect(zip(results.matches, results.matches.dropFirst()).allSatisfy { $0.score >= $1.score })
        }
        // By bytes: the image is predicted (and indexed) first, then left out of its own results.
        let bytes = fixture.images[ids[3]]!.bytes
        let byBytes = try await fixture.search.findSimilar(model: "demo", image: .bytes(bytes), k: 5, filter: SearchFilter())
        #expect(byBytes.queryImageID == ids[3])
        #expect(byBytes.matches.map(\.imageID) == SearchFixture.naiveNearest(vectors[ids[3]]!, in: vectors, k: 5, excluding: ids[3]))
    }

    @Test func filtersKeepOnlyWhatTheyName() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<80)
        let label = DemoFixtures.labels[1]
        let results = try await fixture.search.findSimilar(model: "demo", image: .id(ids[0]), k: 50,
                                                           filter: SearchFilter(predictedLabel: label))
        #expect(!results.matches.isEmpty)
        #expect(results.matches.allSatisfy { $0.image.label == label })
        let boundary = try await fixture.search.findSimilar(model: "demo", image: .id(ids[0]), k: 80,
                                                            filter: SearchFilter(boundaryOnly: true))
        #expect(boundary.matches.allSatisfy { $0.image.isBoundary })
        let future = try await fixture.search.findSimilar(model: "demo", image: .id(ids[0]), k: 10,
                                                          filter: SearchFilter(seenAfter: Date().addingTimeInterval(60)))
        #expect(future.matches.isEmpty)
        let otherVersion = try await fixture.search.findSimilar(model: "demo", image: .id(ids[0]), k: 10,
                                                                filter: SearchFilter(version: 2))
        #expect(otherVersion.matches.isEmpty)
    }

    @Test func aClassLabelRanksByTheClassifiersProbability() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        try await fixture.predict(.train, 0..<60)
        let label = DemoFixtures.labels[2]
        let first = try await fixture.search.search(model: "demo", word: label.uppercased(), pageSize: 10, pageToken: "",
                                                    filter: SearchFilter())
        #expect(first.kind == .classLabel && first.word == label)
        #expect(first.matches.count == 10 && !first.nextPageToken.isEmpty)
        // The score is what Predict says for that label, to float precision.
        for match in first.matches.prefix(3) {
            let prediction = try await fixture.predictor.predict(PredictionRequest(model: "demo", image: fixture.images[match.imageID]!.bytes,
                                                                                   topK: 4))
            let probability = prediction.labels.first { $0.label == label }!.score
            #expect(abs(probability - match.score) < 1e-4)
        }
        let second = try await fixture.search.search(model: "demo", word: label, pageSize: 10, pageToken: first.nextPageToken,
                                                     filter: SearchFilter())
        #expect(Set(first.matches.map(\.imageID)).isDisjoint(with: second.matches.map(\.imageID)))
        #expect(first.matches.last!.score >= second.matches.first!.score)
    }

    /// Four words, each meaning one demo class, each started from one example (the class's least
    /// certain image), then two rounds of marks on its top 20 (relevant: the true class is the
    /// word's): precision@20 must rise for every word.
    @Test func learnedWordsGetBetterWithTwoRoundsOfMarks() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        try await fixture.predict(.train, 0..<400)
        let empty = try await fixture.search.search(model: "demo", word: "word-0", pageSize: 20, pageToken: "", filter: SearchFilter())
        #expect(empty.matches.isEmpty && empty.hint.contains("no results yet"))
        for target in 0..<4 {
            let word = "word-\(target)"
            let candidates = fixture.predictor.recentImages.candidates(model: "demo").filter { fixture.images[$0.imageID]!.label == target }
            let example = candidates.min { ($0.seen.margin, $0.imageID) < ($1.seen.margin, $1.imageID) }!.imageID
            func precision(_ results: WordResults) -> Double {
                Double(results.matches.filter { fixture.images[$0.imageID]!.label == target }.count) / Double(results.matches.count)
            }
            var results = try await fixture.search.search(model: "demo", word: word, pageSize: 20, pageToken: "", filter: SearchFilter(),
                                                          example: example)
            var history = [precision(results)]
            for round in 1...2 {
                let marks = results.matches.map { ResultMark(imageID: $0.imageID, relevant: fixture.images[$0.imageID]!.label == target) }
                let marked = try await fixture.search.mark(model: "demo", word: word, marks: marks, idempotencyKey: "\(word)-\(round)",
                                                           userID: "tester")
                #expect(marked.kind == .learned && marked.rounds == round && !marked.replayed)
                results = try await fixture.search.search(model: "demo", word: word, pageSize: 20, pageToken: "", filter: SearchFilter())
                #expect(results.rounds == round && results.matches.count == 20)
                history.append(precision(results))
            }
            // For comparison (docs/search-precision.md): the classifier's own ranking of the class.
            let byLabel = try await fixture.search.search(model: "demo", word: DemoFixtures.labels[target], pageSize: 20, pageToken: "",
                                                          filter: SearchFilter())
            print("precision@20 of \(word): example \(history[0]), round 1 \(history[1]), round 2 \(history[2]); "
                  + "class label \(DemoFixtures.labels[target]) \(precision(byLabel))")
            #expect(history[2] > history[0], "\(word): \(history)")
        }
        let listed = try await fixture.search.queries(model: "demo")
        #expect(listed.queries.map(\.word) == ["word-0", "word-1", "word-2", "word-3"])
        #expect(listed.queries.allSatisfy { $0.rounds == 2 && $0.relevant + $0.notRelevant >= 20 })
    }

    @Test func marksAreIdempotentByKey() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<20)
        let marks = [ResultMark(imageID: ids[0], relevant: true), ResultMark(imageID: ids[1], relevant: false)]
        let first = try await fixture.search.mark(model: "demo", word: "Foggy", marks: marks, idempotencyKey: "k1", userID: "a")
        let again = try await fixture.search.mark(model: "demo", word: "foggy", marks: marks.reversed(), idempotencyKey: "k1", userID: "a")
        #expect(first.rounds == 1 && !first.replayed)
        #expect(again.rounds == 1 && again.replayed)
        await #expect(throws: SearchError.keyReused("k1")) {
            try await fixture.search.mark(model: "demo", word: "foggy", marks: [ResultMark(imageID: ids[2], relevant: true)],
                                          idempotencyKey: "k1", userID: "a")
        }
        #expect(try await fixture.search.deleteQuery(model: "demo", word: "FOGGY") == "demo")
        await #expect(throws: SearchError.unknownQuery("foggy", model: "demo")) {
            try await fixture.search.deleteQuery(model: "demo", word: "foggy")
        }
    }

    @Test func marksOnAClassLabelJoinTheTrainingQueue() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<10)
        let label = DemoFixtures.labels[0]
        let before = try fixture.store.queue(model: "demo").total
        let marks = [ResultMark(imageID: ids[0], relevant: true), ResultMark(imageID: ids[1], relevant: false)]
        let result = try await fixture.search.mark(model: "demo", word: label, marks: marks, idempotencyKey: "m1", userID: "rev")
        #expect(result.kind == .classLabel && result.queuedSamples == 2 && !result.replayed)
        let samples = try fixture.store.samples(model: "demo", in: SampleState.open)
        #expect(try fixture.store.queue(model: "demo").total == before + 2)
        #expect(Set(samples.map { "\($0.sample.imageID):\($0.sample.kind.rawValue):\($0.sample.label)" })
            == ["\(ids[0]):positive:\(label)", "\(ids[1]):negative:\(label)"])
        #expect(samples.allSatisfy { $0.userID == "rev" })
        let replay = try await fixture.search.mark(model: "demo", word: label, marks: marks, idempotencyKey: "m1", userID: "rev")
        #expect(replay.replayed)
        #expect(try fixture.store.queue(model: "demo").total == before + 2)
    }

    /// Feedback that sends image bytes (never predicted) puts those images in the index too.
    @Test func imagesSentWithFeedbackAreIndexed() async throws {
        var fixture = try await SearchFixture()
        defer { fixture.shutdown() }
        let ids = try await fixture.predict(.train, 0..<10)
        let search = fixture.search
        fixture.intake.observeStoredImages { model, images in search.indexInBackground(images, model: model) }
        let sample = DemoFixtures.dataset.sample(.test, index: 3)
        let bytes = try DemoFixtures.png(sample, split: .test)
        let id = Predictor.imageID(of: bytes)
        _ = try await fixture.intake.submit(FeedbackSubmission(model: "demo", label: DemoFixtures.labels[sample.label],
                                                               kept: [.bytes(bytes), .id(ids[0])], idempotencyKey: "bytes"))
        var found: SimilarResults?
        for _ in 0..<500 where found == nil {
            found = try? await search.findSimilar(model: "demo", image: .id(id), k: 3, filter: SearchFilter())
            if found == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(found?.matches.count == 3, "the image sent as bytes is searchable")
        #expect(search.status(model: "demo")?.count == 11)
        #expect(try fixture.store.searchEntries(model: "demo").contains { $0.imageID == id })
    }
}
