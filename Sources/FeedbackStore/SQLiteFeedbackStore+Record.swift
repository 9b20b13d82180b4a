import Foundation
import GRDB

extension SQLiteFeedbackStore {
    /// One write transaction for the whole batch (group commit): one fsync however many events.
    /// Each event runs in its own savepoint, so a refused event leaves the others untouched.
    public func record(_ events: [FeedbackEvent], policy: RecordPolicy) throws -> [Result<FeedbackReceipt, FeedbackStoreError>] {
        guard !events.isEmpty else { return [] }
        defer { committed(bytes: events.reduce(0) { $0 + $1.images.values.reduce(0) { $0 + $1.count } + 200 * $1.samples.count }) }
        return try pool.write { db in
            let now = Date()
            var results: [Result<FeedbackReceipt, FeedbackStoreError>] = []
            for event in events {
                var outcome: Result<FeedbackReceipt, FeedbackStoreError> = .failure(.internalInconsistency)
                try db.inSavepoint {
                    outcome = try Self.recordOne(db, event, policy: policy, now: now)
                    if case .success(let receipt) = outcome, !receipt.replayed { return .commit }
                    return .rollback
                }
                results.append(outcome)
            }
            // Queue depths after the whole batch, once per model.
            var depths: [String: Int] = [:]
            for model in Set(events.map(\.model)) { depths[model] = try Self.pendingCount(db, model: model) }
            return IntakeRules.withDepths(events, results, depths: depths)
        }
    }

    private static func recordOne(_ db: Database, _ event: FeedbackEvent, policy: RecordPolicy, now: Date) throws
        -> Result<FeedbackReceipt, FeedbackStoreError> {
        if let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, accepted, duplicates, contentHash FROM event WHERE model = ? AND idempotencyKey = ?
            """), arguments: [event.model, event.idempotencyKey]) {
            let stored: String? = row["contentHash"]
            if let stored, !stored.isEmpty, stored != event.contentHash {
                return .failure(.keyReused(key: event.idempotencyKey, eventID: row["id"]))
            }
            return .success(FeedbackReceipt(eventID: row["id"], accepted: row["accepted"], duplicates: row["duplicates"],
                                            replayed: true, queueDepth: 0))
        }
        let unique = IntakeRules.uniqueSamples(event)
        if let quota = policy.quota {
            let since = timestamp(now.addingTimeInterval(-quota.window))
            let used = try Int.fetchOne(db, sql: """
                SELECT COALESCE(SUM(accepted), 0) FROM event WHERE model = ? AND userID = ? AND createdAt >= ?
                """, arguments: [event.model, event.userID, since]) ?? 0
            if used + unique.count > quota.samples {
                return .failure(.quotaExceeded(user: event.userID, used: used, requested: unique.count, limit: quota.samples,
                                               window: quota.window))
            }
        }
        let stamp = timestamp(now)
        // One statement for all of the event's images. An image stored before keeps its row; one
        // removed by retention gets its bytes back.
        for chunk in chunks(event.images.sorted { $0.key < $1.key }, size: rowsPerStatement) {
            try db.execute(sql: """
                INSERT INTO image (id, bytes, size, createdAt) VALUES \(rows(chunk.count, columns: 4))
                ON CONFLICT(id) DO UPDATE SET bytes = excluded.bytes, size = excluded.size, createdAt = excluded.createdAt,
                purgedAt = NULL WHERE purgedAt IS NOT NULL
                """, arguments: StatementArguments(chunk.flatMap { [$0.key, $0.value, $0.value.count, stamp] as [any DatabaseValueConvertible] }))
        }
        try db.execute(sql: """
            INSERT INTO event (model, idempotencyKey, contentHash, userID, label, createdAt, accepted, duplicates)
            VALUES (?, ?, ?, ?, ?, ?, 0, 0)
            """, arguments: [event.model, event.idempotencyKey, event.contentHash, event.userID, event.label, stamp])
        let eventID = db.lastInsertedRowID
        // Images named by id must still be stored: retention may have removed one since the intake
        // checked (the client is told to send the bytes).
        let named = Set(unique.map(\.imageID)).subtracting(event.images.keys)
        if !named.isEmpty {
            var stored = Set<String>()
            for chunk in chunks(Array(named)) {
                stored.formUnion(try String.fetchAll(db, sql: """
                    SELECT id FROM image WHERE purgedAt IS NULL AND id IN (\(placeholders(chunk.count)))
                    """, arguments: StatementArguments(chunk)))
            }
            let gone = named.subtracting(stored)
            if !gone.isEmpty { return .failure(.imagesGone(gone.sorted())) }
        }
        // What the store already holds for the event's images decides duplicates and the split.
        var existing: [IntakeRules.Existing] = []
        for chunk in chunks(Array(Set(unique.map(\.imageID)))) {
            for row in try Row.fetchAll(db, sql: """
                SELECT imageID, kind, label, state FROM sample WHERE model = ? AND imageID IN (\(placeholders(chunk.count)))
                """, arguments: StatementArguments([event.model] + chunk)) {
                guard let state = SampleState(rawValue: row["state"]) else { continue }
                existing.append(IntakeRules.Existing(imageID: row["imageID"], kind: row["kind"], label: row["label"], state: state))
            }
        }
        let planned = try IntakeRules.plan(unique, existing: existing, policy: policy) { label in
            try heldOutCount(db, model: event.model, label: label)
        }
        for chunk in chunks(planned, size: rowsPerStatement) {
            try db.execute(sql: """
                INSERT INTO sample (eventID, model, imageID, kind, label, createdAt, state) VALUES \(rows(chunk.count, columns: 7))
                """, arguments: StatementArguments(chunk.flatMap { sample, state -> [any DatabaseValueConvertible] in
                    [eventID, event.model, sample.imageID, sample.kind.rawValue, sample.label, stamp, state.rawValue]
                }))
        }
        let accepted = planned.count
        let duplicates = event.samples.count - accepted
        try insertEmbeddings(db, event.embeddings, model: event.model, version: event.embeddingVersion)
        try db.execute(sql: "UPDATE event SET accepted = ?, duplicates = ? WHERE id = ?",
                       arguments: [accepted, duplicates, eventID])
        return .success(FeedbackReceipt(eventID: eventID, accepted: accepted, duplicates: duplicates, replayed: false,
                                        queueDepth: 0))
    }

    /// Pending samples of `model`, from the counts the v3 triggers keep (one row per label, not a
    /// scan of the samples).
    static func pendingCount(_ db: Database, model: String) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(SUM(n), 0) FROM sampleCount WHERE model = ? AND state = 'pending'"),
                         arguments: [model]) ?? 0
    }

    /// Held-out samples of `model` with `label`, from the same counts.
    static func heldOutCount(_ db: Database, model: String, label: String) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT n FROM sampleCount WHERE model = ? AND state = 'held-out' AND label = ?"),
                         arguments: [model, label]) ?? 0
    }
}
