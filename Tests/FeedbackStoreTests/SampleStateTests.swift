import Foundation
import GRDB
import Testing
@testable import FeedbackStore

@Suite struct SampleStateTests {
    /// The evaluation share is held out when stored, never pending, and every sample is counted
    /// in exactly one state.
    @Test(arguments: StoreKind.allCases) func heldOutShareJoinsTheEvaluationSetAndStatesAddUp(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        let kept = [StoreFixtures.id(1), StoreFixtures.id(2, heldOut: true), StoreFixtures.id(3)]
        let receipt = try store.record(StoreFixtures.event(key: "k", kept: kept, deselected: [StoreFixtures.id(4, heldOut: true)]))
        #expect(receipt.accepted == 4 && receipt.queueDepth == 2, "held-out samples are not pending")
        var queue = try store.queue(model: "m")
        #expect(queue.byState[.heldOut] == 2 && queue.pending == 2)
        let pending = try store.pendingSamples(model: "m")
        try store.setState([pending[0].id], to: .consumed, version: 2)
        try store.setState([pending[1].id], to: .unusable, reason: "image bytes no longer stored")
        queue = try store.queue(model: "m")
        #expect(queue.pending == 0 && queue.byState[.consumed] == 1 && queue.byState[.unusable] == 1)
        #expect(queue.unusableReasons == ["image bytes no longer stored": 1])
        #expect(queue.byState.values.reduce(0, +) == queue.total && queue.total == 4)
    }

    /// A retrain's claim survives only as long as the process: at the next open, samples left in
    /// `training` are pending again; a conditional move leaves samples in other states alone.
    @Test(arguments: StoreKind.allCases) func interruptedTrainingReturnsToPending(kind: StoreKind) throws {
        var opened = try TestStore.open(kind)
        var store = opened.store
        _ = try store.record(StoreFixtures.event(key: "k"))
        let ids = try store.pendingSamples(model: "m").map(\.id)
        try store.setState(ids, to: .training)
        try store.setState([ids[0]], to: .consumed, version: 3, reason: nil, ifIn: .training)
        try store.setState([ids[0]], to: .pending, version: nil, reason: nil, ifIn: .training)
        #expect(try store.queue(model: "m").byState[.consumed] == 1, "not in training: left alone")
        try opened.reopen()
        store = opened.store
        let queue = try store.queue(model: "m")
        #expect(queue.byState[.training] == 0 && queue.pending == 2)
    }

    /// Quarantine works per event (held-out samples included), lists the verdict, and only a
    /// release brings samples back, marked so the screen leaves them alone; discard is final.
    @Test(arguments: StoreKind.allCases) func quarantineReleaseAndDiscard(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        let first = try store.record(StoreFixtures.event(key: "a", kept: [StoreFixtures.id(1), StoreFixtures.id(2, heldOut: true)],
                                                         deselected: [], user: "mallory"))
        let second = try store.record(StoreFixtures.event(key: "b", kept: [StoreFixtures.id(3)], deselected: [], user: "ana"))
        #expect(try store.quarantine(model: "m", .events([first.eventID]), verdict: "refused: worse") == 2)
        var queue = try store.queue(model: "m")
        #expect(queue.byState[.quarantined] == 2 && queue.pending == 1 && queue.byState[.heldOut] == 0)
        let listed = try store.quarantinedEvents(model: "m")
        #expect(listed.count == 1 && listed[0].eventID == first.eventID && listed[0].userID == "mallory")
        #expect(listed[0].verdict == "refused: worse" && listed[0].quarantinedSamples == 2)
        #expect(try store.release(model: "m", .user("mallory")) == 2)
        queue = try store.queue(model: "m")
        #expect(queue.pending == 2 && queue.byState[.heldOut] == 1, "released samples return to their evaluation share")
        #expect(try store.pendingSamples(model: "m").filter(\.released).map(\.eventID) == [first.eventID])
        #expect(try store.quarantinedEvents(model: "m").isEmpty)
        #expect(try store.discard(model: "m", .events([second.eventID, 999])) == 1)
        #expect(try store.queue(model: "m").byState[.discarded] == 1)
        #expect(try store.quarantine(model: "other", .events([first.eventID]), verdict: "x") == 0, "events of another model")
    }

    /// The per-state counts the triggers keep (and every reply's queue depth) agree with a count
    /// of the rows after inserts, claims, consumption, quarantine, release, discard and a restart.
    @Test(arguments: StoreKind.allCases) func stateCountsFollowEveryChange(kind: StoreKind) throws {
        var opened = try TestStore.open(kind)
        var store = opened.store
        func check(_ step: String) throws {
            let (kept, counted) = try opened.counts()
            #expect(kept == counted, "after \(step)")
        }
        let first = try store.record(StoreFixtures.event(key: "a", kept: (1...6).map { StoreFixtures.id($0) },
                                                         deselected: [StoreFixtures.id(7, heldOut: true)], user: "mallory"))
        #expect(first.queueDepth == 6)
        let second = try store.record(StoreFixtures.event(key: "b", kept: [StoreFixtures.id(8), StoreFixtures.id(1)], deselected: []))
        #expect(second.queueDepth == 7 && second.duplicates == 1, "the duplicate is not counted twice")
        try check("record")
        let pending = try store.pendingSamples(model: "m").map(\.id)
        try store.setState(Array(pending.prefix(4)), to: .training)
        try check("claim")
        try store.setState(Array(pending.prefix(2)), to: .consumed, version: 2, reason: nil, ifIn: .training)
        try check("consume")
        _ = try store.quarantine(model: "m", .user("mallory"), verdict: "refused")
        try check("quarantine")
        _ = try store.release(model: "m", .user("mallory"))
        try check("release")
        _ = try store.discard(model: "m", .events([second.eventID]))
        try check("discard")
        try opened.reopen()
        store = opened.store
        try check("reopen")
        let third = try store.record(StoreFixtures.event(key: "c", kept: [StoreFixtures.id(9)], deselected: []))
        #expect(third.queueDepth == (try store.queue(model: "m").pending))
    }

    /// Each label holds out at most the cap; past it, images whose id would hold them out are
    /// trained on. An image stays on the side of the split its earlier samples took, so no image
    /// is trained on by one version and judged by the next.
    @Test(arguments: StoreKind.allCases) func theEvaluationShareIsCappedPerLabelAndStaysWithItsImage(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        let policy = RecordPolicy(maxHeldOutPerLabel: 2)
        let held = (1...4).map { StoreFixtures.id($0, heldOut: true) }
        _ = try store.record(StoreFixtures.event(key: "cat", label: "cat", kept: held, deselected: []), policy: policy)
        var queue = try store.queue(model: "m")
        #expect(queue.byState[.heldOut] == 2 && queue.pending == 2, "two held out, the rest past the cap trains")
        let trained = try store.pendingSamples(model: "m").map(\.sample.imageID)
        _ = try store.record(StoreFixtures.event(key: "dog", label: "dog", kept: (5...6).map { StoreFixtures.id($0, heldOut: true) },
                                                 deselected: []), policy: policy)
        #expect(try store.queue(model: "m").byState[.heldOut] == 4, "the cap is per label")
        let judged = held.filter { !trained.contains($0) }
        // "dog" is full, but an image held out under "cat" stays held out; one trained on under
        // "cat" stays on the training side for "bird", which has room.
        _ = try store.record(StoreFixtures.event(key: "again", label: "dog", kept: [], deselected: [judged[0]]), policy: policy)
        _ = try store.record(StoreFixtures.event(key: "bird", label: "bird", kept: [trained[0]], deselected: []), policy: policy)
        queue = try store.queue(model: "m")
        #expect(queue.byState[.heldOut] == 5 && queue.pending == 3)
        let heldOut = try store.samples(model: "m", in: [.heldOut]).map(\.sample.imageID)
        #expect(heldOut.filter { $0 == judged[0] }.count == 2 && !heldOut.contains(trained[0]))
        // No cap: every image whose id says so is held out.
        _ = try store.record(StoreFixtures.event(key: "fish", label: "fish", kept: (7...9).map { StoreFixtures.id($0, heldOut: true) },
                                                 deselected: []), policy: RecordPolicy(maxHeldOutPerLabel: nil))
        #expect(try store.queue(model: "m").byState[.heldOut] == 8)
    }

    /// Retention removes the oldest bytes first, never those an open, held-out or quarantined
    /// sample needs; a removed image is no longer "stored" and its embeddings go with it.
    @Test(arguments: StoreKind.allCases) func retentionRemovesOldestUnneededImagesFirst(kind: StoreKind) throws {
        let opened = try TestStore.open(kind)
        let store = opened.store
        let old = [StoreFixtures.id(1), StoreFixtures.id(2)], recent = [StoreFixtures.id(3)]
        let consumedEvent = StoreFixtures.event(key: "old", kept: old, deselected: [])
        _ = try store.record(consumedEvent)
        try store.storeEmbeddings([old[0]: [1, 2]], model: "m", version: 1)
        try store.setState(try store.pendingSamples(model: "m").map(\.id), to: .consumed, version: 2)
        _ = try store.record(StoreFixtures.event(key: "new", kept: recent, deselected: []))
        // Make the first images older, as the clock would have.
        try opened.backdate(images: old)
        let perImage = consumedEvent.images[old[0]]!.count
        var report = try store.enforceRetention(RetentionLimits(maxImageBytes: 3 * perImage, maxAge: 1e9), now: Date())
        #expect(report.imagesRemoved == 0, "within both limits")
        report = try store.enforceRetention(RetentionLimits(maxImageBytes: 2 * perImage, maxAge: 1e9), now: Date())
        #expect(report.imagesRemoved == 1 && report.bytesRemoved == perImage)
        #expect(try store.storedImages(among: old + recent) == [old[1], recent[0]], "the oldest went first")
        #expect(try store.embeddings(model: "m", version: 1, keys: [old[0]]).isEmpty)
        report = try store.enforceRetention(RetentionLimits(maxImageBytes: 0, maxAge: 60), now: Date())
        #expect(report.imagesRemoved == 1 && report.bytesPinned == perImage, "the pending sample's image is pinned")
        #expect(try store.imageBytes(recent[0]) != nil)
        #expect(try store.imageBytes(old[1]) == nil)
        // Sending the bytes again restores a removed image.
        _ = try store.record(StoreFixtures.event(key: "again", kept: [old[1]], deselected: []))
        #expect(try store.storedImages(among: [old[1]]) == [old[1]])
    }

    /// Quarantined and discarded judgements stay put: the same content under a new key is a
    /// duplicate, and an image named by id that retention removed fails the event.
    @Test(arguments: StoreKind.allCases) func refusedFeedbackCannotBeResentAndRemovedImagesAreNamed(kind: StoreKind) throws {
        let store = try TestStore.open(kind).store
        let first = try store.record(StoreFixtures.event(key: "a", kept: [StoreFixtures.id(1)], deselected: [], user: "eve"))
        try store.quarantine(model: "m", .events([first.eventID]), verdict: "refused")
        let again = try store.record(StoreFixtures.event(key: "b", kept: [StoreFixtures.id(1)], deselected: [], user: "eve"))
        #expect(again.accepted == 0 && again.duplicates == 1)
        try store.discard(model: "m", .user("eve"))
        _ = try store.enforceRetention(RetentionLimits(maxImageBytes: 0, maxAge: 1e9), now: Date())
        var byID = StoreFixtures.event(key: "c", kept: [StoreFixtures.id(1)], deselected: [], user: "ana")
        byID.images = [:]  // Named by id only; the image is gone.
        #expect(throws: FeedbackStoreError.imagesGone([StoreFixtures.id(1)])) { try store.record(byID) }
    }

    /// A store written by the first schema opens with every sample in a state: consumed ones
    /// consumed, pending ones in the evaluation share held out.
    @Test func version1StoresMigrate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedback-v1-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("feedback.sqlite").path
        do {
            let pool = try DatabasePool(path: path)
            try SQLiteFeedbackStore.migrator.migrate(pool, upTo: "v1: images, events, samples, embeddings")
            try pool.write { db in
                for id in [StoreFixtures.id(1), StoreFixtures.id(2, heldOut: true), StoreFixtures.id(3)] {
                    try db.execute(sql: "INSERT INTO image (id, bytes, size, createdAt) VALUES (?, x'00', 1, '2026-01-01T00:00:00Z')",
                                   arguments: [id])
                }
                try db.execute(sql: """
                    INSERT INTO event (model, idempotencyKey, userID, label, createdAt, accepted, duplicates)
                    VALUES ('m', 'k', 'ana', 'cat', '2026-01-01T00:00:00Z', 3, 0)
                    """)
                for (id, consumed) in [(StoreFixtures.id(1), 2 as Int?), (StoreFixtures.id(2, heldOut: true), nil), (StoreFixtures.id(3), nil)] {
                    try db.execute(sql: """
                        INSERT INTO sample (eventID, model, imageID, kind, label, createdAt, consumedByVersion)
                        VALUES (1, 'm', ?, 'positive', 'cat', '2026-01-01T00:00:00Z', ?)
                        """, arguments: [id, consumed])
                }
            }
        }
        let store = try SQLiteFeedbackStore(path: path)
        let queue = try store.queue(model: "m")
        #expect(queue.byState[.consumed] == 1 && queue.byState[.heldOut] == 1 && queue.pending == 1)
        #expect(try store.imageBytes(StoreFixtures.id(1)) == Data([0]), "v1 rows keep their bytes")
        // Events stored before content digests replay whatever is resent under their key.
        #expect(try store.record(StoreFixtures.event(key: "k", kept: [StoreFixtures.id(9)], deselected: [])).replayed)
    }
}
