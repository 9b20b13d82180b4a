import BoundaryTestSupport
import FeedbackStore
import Foundation
import Logging
import Testing
import Training
@testable import Retraining

@Suite struct StoreUpkeepTests {
    /// A sweep deletes the embeddings of backbones no kept version uses and keeps the rest; a
    /// head-only version's backbone is its parent's.
    @Test func embeddingsOfRemovedVersionsAreDeleted() throws {
        let data = try Fixtures.dataDirectory(models: ["tiny": 2])
        let registry = ModelRegistry(dataDirectory: data)
        let store = try SQLiteFeedbackStore(path: data.appendingPathComponent("feedback.sqlite").path)
        for version in [1, 2, 7] { try store.storeEmbeddings(["demo:val:0": [Float(version)]], model: "tiny", version: version) }
        try store.storeEmbeddings(["demo:val:0": [9]], model: "gone", version: 1)
        let upkeep = StoreUpkeep(store: store, registry: registry, logger: Logger(label: "test"))
        _ = upkeep.sweep()
        for (version, kept) in [(1, true), (2, true), (7, false)] {
            #expect(try store.embeddings(model: "tiny", version: version, keys: ["demo:val:0"]).isEmpty != kept, "version \(version)")
        }
        #expect(try store.embeddings(model: "gone", version: 1, keys: ["demo:val:0"]).isEmpty,
                "a model no longer registered keeps no embeddings")
    }
}
