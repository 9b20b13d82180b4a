import FeedbackStore
import Foundation
import Synchronization
import Testing
@testable import Retraining

/// A store whose commits take `commitSeconds` (a slow disk's fsync) and that remembers how many
/// events each transaction carried.
final class SlowCommitStore: FeedbackStore {
    let inner: SQLiteFeedbackStore
    let commitSeconds: Double
    let batches = Mutex<[Int]>([])

    init(commitSeconds: Double) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("group-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        inner = try SQLiteFeedbackStore(path: directory.appendingPathComponent("f.sqlite").path)
        self.commitSeconds = commitSeconds
    }

    func record(_ events: [FeedbackEvent], policy: RecordPolicy) throws -> [Result<FeedbackReceipt, FeedbackStoreError>] {
        batches.withLock { $0.append(events.count) }
        Thread.sleep(forTimeInterval: commitSeconds)
        return try inner.record(events, policy: policy)
    }

    func storedImages(among imageIDs: [String]) throws -> Set<String> { try inner.storedImages(among: imageIDs) }
    func imageBytes(_ imageID: String) throws -> Data? { try inner.imageBytes(imageID) }
    func openSampleCounts(model: String, imageIDs: [String]) throws -> [String: Int] { try inner.openSampleCounts(model: model, imageIDs: imageIDs) }
    func queue(model: String) throws -> QueueSummary { try inner.queue(model: model) }
    func samples(model: String, in states: Set<SampleState>) throws -> [StoredSample] { try inner.samples(model: model, in: states) }
    func setState(_ ids: [Int64], to state: SampleState, version: Int?, reason: String?, ifIn current: SampleState?) throws {
        try inner.setState(ids, to: state, version: version, reason: reason, ifIn: current)
    }
    func resetInterruptedTraining() throws -> Int { try inner.resetInterruptedTraining() }
    func quarantine(model: String, _ selector: FeedbackSelector, verdict: String) throws -> Int {
        try inner.quarantine(model: model, selector, verdict: verdict)
    }
    func quarantinedEvents(model: String) throws -> [QuarantinedEvent] { try inner.quarantinedEvents(model: model) }
    func release(model: String, _ selector: FeedbackSelector) throws -> Int { try inner.release(model: model, selector) }
    func discard(model: String, _ selector: FeedbackSelector) throws -> Int { try inner.discard(model: model, selector) }
    func embeddings(model: String, version: Int, keys: [String]) throws -> [String: [Float]] {
        try inner.embeddings(model: model, version: version, keys: keys)
    }
    func storeEmbeddings(_ vectors: [String: [Float]], model: String, version: Int) throws {
        try inner.storeEmbeddings(vectors, model: model, version: version)
    }
    func modelsWithEmbeddings() throws -> Set<String> { try inner.modelsWithEmbeddings() }
    func pruneEmbeddings(model: String, keepVersions keep: Set<Int>) throws -> Int { try inner.pruneEmbeddings(model: model, keepVersions: keep) }
    func enforceRetention(_ limits: RetentionLimits, now: Date) throws -> RetentionReport { try inner.enforceRetention(limits, now: now) }
}

@Suite struct GroupCommitTests {
    static func event(_ n: Int, user: String = "u") -> FeedbackEvent {
        let id = String(format: "01%062x", n)
        return FeedbackEvent(model: "m", idempotencyKey: "k\(n)", contentHash: "h\(n)", userID: user, label: "cat",
                             samples: [FeedbackSample(imageID: id, kind: .positive, label: "cat")], images: [id: Data([UInt8(n % 256)])])
    }

    /// Submissions arriving during a slow commit share the next one; every caller still gets its
    /// own receipt, and every acknowledged event is stored.
    @Test func concurrentSubmissionsShareCommits() async throws {
        let store = try SlowCommitStore(commitSeconds: 0.05)
        let commits = GroupCommit(store: store, policy: RecordPolicy(quota: nil))
        defer { commits.shutdown() }
        let receipts = try await withThrowingTaskGroup(of: FeedbackStoreTypes.Receipt.self) { group in
            for n in 0..<32 { group.addTask { try await commits.record(Self.event(n)) } }
            var receipts: [FeedbackStoreTypes.Receipt] = []
            for try await receipt in group { receipts.append(receipt) }
            return receipts
        }
        #expect(receipts.count == 32 && Set(receipts.map { $0.eventID }).count == 32)
        #expect(try store.queue(model: "m").total == 32)
        let batches = store.batches.withLock { $0 }
        #expect(batches.reduce(0, +) == 32)
        #expect(batches.count < 16, "32 concurrent events took \(batches.count) commits: \(batches)")
    }

    /// One event's refusal (here: its user's quota) reaches only its own caller.
    @Test func aRefusedEventFailsOnlyItsCaller() async throws {
        let store = try SlowCommitStore(commitSeconds: 0.02)
        let commits = GroupCommit(store: store, policy: RecordPolicy(quota: UserQuota(samples: 2)))
        defer { commits.shutdown() }
        var outcomes: [String] = []
        for (n, user) in [(1, "a"), (2, "a"), (3, "a"), (4, "b")] {
            do {
                _ = try await commits.record(Self.event(n, user: user))
                outcomes.append("ok")
            } catch let error as RetrainingError {
                guard case .quotaExceeded(let message) = error else { throw error }
                #expect(message.contains("quota of 2"))
                outcomes.append("quota")
            }
        }
        #expect(outcomes == ["ok", "ok", "quota", "ok"])
    }
}
