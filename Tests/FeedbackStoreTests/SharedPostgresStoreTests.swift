import Foundation
import Testing
@testable import FeedbackStore
@testable import PostgresStore

/// What only a shared store must get right: several processes (here, several store instances,
/// each with its own connections) writing to one database at once.
@Suite struct SharedPostgresStoreTests {
    /// The same submission retried through two replicas at once is stored once: every receipt
    /// names the same event, exactly one is not a replay, and the samples are counted once.
    @Test func oneIdempotencyKeyThroughManyReplicasIsOneEvent() async throws {
        let opened = try TestStore.open(.postgres)
        let replicas = [opened.store] + (try (0..<3).map { _ in try opened.another(resetInterruptedTraining: false) })
        let event = StoreFixtures.event(key: "retried")
        let receipts = try await withThrowingTaskGroup(of: FeedbackReceipt.self) { group in
            for index in 0..<16 {
                let replica = replicas[index % replicas.count]
                group.addTask { try replica.record(event) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(receipts.map(\.eventID)).count == 1)
        #expect(receipts.filter { !$0.replayed }.count == 1)
        let queue = try opened.store.queue(model: "m")
        #expect(queue.events == 1 && queue.pending == 3)
    }

    /// Distinct submissions from many replicas at once: each is stored, the counts the trigger
    /// keeps match the rows, and the held-out cap holds across replicas.
    @Test func concurrentIntakeKeepsCountsAndTheHeldOutCap() async throws {
        let opened = try TestStore.open(.postgres)
        let replicas = [opened.store] + (try (0..<3).map { _ in try opened.another(resetInterruptedTraining: false) })
        let policy = RecordPolicy(maxHeldOutPerLabel: 5)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let replica = replicas[index % replicas.count]
                let event = StoreFixtures.event(key: "e\(index)", kept: [StoreFixtures.id(index, heldOut: index % 2 == 0)],
                                                deselected: [StoreFixtures.id(1000 + index)], user: "u\(index % 5)")
                group.addTask { _ = try replica.record(event, policy: policy) }
            }
            try await group.waitForAll()
        }
        let queue = try opened.store.queue(model: "m")
        #expect(queue.events == 40 && queue.total == 80)
        #expect(queue.byState[.heldOut] == 5, "the cap is shared, not per replica")
        let (kept, counted) = try opened.counts()
        #expect(kept == counted)
    }

    /// A serving replica starting up leaves the trainer's claimed samples alone; the trainer's
    /// own restart returns them to pending.
    @Test func onlyTheTrainerResetsInterruptedTraining() throws {
        let opened = try TestStore.open(.postgres)
        _ = try opened.store.record(StoreFixtures.event(key: "k"))
        try opened.store.setState(try opened.store.pendingSamples(model: "m").map(\.id), to: .training)
        _ = try opened.another(resetInterruptedTraining: false)
        #expect(try opened.store.queue(model: "m").byState[.training] == 3)
        _ = try opened.another(resetInterruptedTraining: true)
        #expect(try opened.store.queue(model: "m").pending == 3)
    }

    /// An image one replica predicted can be named by id in feedback through another: its bytes
    /// and embedding are in the shared store, and writing it again changes nothing.
    @Test func predictedImagesAreResolvableThroughAnotherReplica() throws {
        let opened = try TestStore.open(.postgres)
        guard let replicaA = opened.store as? PostgresFeedbackStore else { Issue.record("not PostgreSQL"); return }
        let replicaB = try opened.another(resetInterruptedTraining: false)
        let predicted = (1...3).map { PredictedImage(id: StoreFixtures.id($0), bytes: Data("pixels \($0)".utf8), model: "m", backbone: 2,
                                                     embedding: [Float($0), 0.5]) }
        try replicaA.rememberPredicted(predicted + [predicted[0]])
        try replicaA.rememberPredicted(predicted)
        #expect(try replicaB.storedImages(among: predicted.map(\.id) + ["unknown"]) == Set(predicted.map(\.id)))
        #expect(try replicaB.embeddings(model: "m", version: 2, keys: [predicted[1].id]) == [predicted[1].id: [2, 0.5]])
        var byID = StoreFixtures.event(key: "by-id", kept: predicted.map(\.id), deselected: [])
        byID.images = [:]
        #expect(try replicaB.record(byID).accepted == 3)
        #expect(try replicaB.imageBytes(predicted[2].id) == Data("pixels 3".utf8))
    }

    /// A URL a person mistyped is refused with what is wrong; an unreachable server is named.
    @Test func badLocationsAreRefusedClearly() throws {
        #expect(throws: PostgresStoreError.self) { try PostgresLocation(url: "mysql://u@h/db") }
        #expect(throws: PostgresStoreError.badLocation("'postgres://u@h' names no database (postgres://USER@HOST/DATABASE)")) {
            try PostgresLocation(url: "postgres://u@h")
        }
        #expect(throws: PostgresStoreError.badLocation("sslmode 'maybe' is not one of disable, prefer, require")) {
            try PostgresLocation(url: "postgres://u@h/db?sslmode=maybe")
        }
        let parsed = try PostgresLocation(url: "postgres://ana:s3cret@db.internal:6543/boundary?sslmode=require&pool=8", environment: [:])
        #expect(parsed == PostgresLocation(host: "db.internal", port: 6543, user: "ana", password: "s3cret", database: "boundary",
                                           tls: .require, poolSize: 8))
        #expect("\(parsed)" == "postgres://ana@db.internal:6543/boundary", "no password in logs")
        #expect(try PostgresLocation(url: "postgres://ana@h/db", environment: ["PGPASSWORD": "p"]).password == "p")
        do {
            _ = try PostgresFeedbackStore(location: PostgresLocation(host: "127.0.0.1", port: 1, user: "u", database: "d", tls: .disable))
            Issue.record("port 1 has no PostgreSQL")
        } catch let error as PostgresStoreError {
            guard case .unreachable(let location, _) = error else { Issue.record("\(error)"); return }
            #expect(location == "postgres://u@127.0.0.1:1/d")
        }
    }
}
