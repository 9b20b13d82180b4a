import FeedbackStore
import Foundation
import PostgresNIO

extension PostgresFeedbackStore {
    /// One transaction for the whole batch (group commit), each event in its own savepoint so a
    /// refused event leaves the others untouched. The batch's models are locked first, in order,
    /// so two replicas taking the same models never wait on each other in a cycle.
    public func record(_ events: [FeedbackEvent], policy: RecordPolicy) throws -> [Result<FeedbackReceipt, FeedbackStoreError>] {
        guard !events.isEmpty else { return [] }
        return try connections.transaction { session in
            // Shared with other intakes, exclusive for retention: an image is never purged between
            // an intake's check that it is stored and its commit.
            try session.lock(.images, shared: true)
            for model in Set(events.map(\.model)).sorted() { try session.lock(.record(model: model)) }
            let now = Date()
            var results: [Result<FeedbackReceipt, FeedbackStoreError>] = []
            for event in events {
                try session.execute("SAVEPOINT event")
                let outcome: Result<FeedbackReceipt, FeedbackStoreError>
                do {
                    outcome = try Self.recordOne(session, event, policy: policy, now: now)
                } catch {
                    try session.execute("ROLLBACK TO SAVEPOINT event")
                    throw error
                }
                if case .success(let receipt) = outcome, !receipt.replayed {
                    try session.execute("RELEASE SAVEPOINT event")
                } else {
                    try session.execute("ROLLBACK TO SAVEPOINT event")
                }
                results.append(outcome)
            }
            var depths: [String: Int] = [:]
            for model in Set(events.map(\.model)) { depths[model] = try Self.pendingCount(session, model: model) }
            return IntakeRules.withDepths(events, results, depths: depths)
        }
    }

    private static func recordOne(_ session: Session, _ event: FeedbackEvent, policy: RecordPolicy, now: Date) throws
        -> Result<FeedbackReceipt, FeedbackStoreError> {
        if let row = try session.one("""
            SELECT id, accepted, duplicates, content_hash FROM event WHERE model = \(event.model) AND idempotency_key = \(event.idempotencyKey)
            """) {
            let stored: String = try row.get("content_hash")
            let id: Int64 = try row.get("id")
            if !stored.isEmpty, stored != event.contentHash { return .failure(.keyReused(key: event.idempotencyKey, eventID: id)) }
            return .success(FeedbackReceipt(eventID: id, accepted: try row.get("accepted"), duplicates: try row.get("duplicates"),
                                            replayed: true, queueDepth: 0))
        }
        let unique = IntakeRules.uniqueSamples(event)
        if let quota = policy.quota {
            let since = now.addingTimeInterval(-quota.window)
            let used = try session.scalar("""
                SELECT COALESCE(SUM(accepted), 0)::BIGINT FROM event WHERE model = \(event.model) AND user_id = \(event.userID)
                AND created_at >= \(since)
                """, as: Int.self) ?? 0
            if used + unique.count > quota.samples {
                return .failure(.quotaExceeded(user: event.userID, used: used, requested: unique.count, limit: quota.samples,
                                               window: quota.window))
            }
        }
        try upsertImages(session, event.images.sorted { $0.key < $1.key }.map { (id: $0.key, bytes: $0.value) }, at: now)
        guard let eventID = try session.scalar("""
            INSERT INTO event (model, idempotency_key, content_hash, user_id, label, created_at, accepted, duplicates)
            VALUES (\(event.model), \(event.idempotencyKey), \(event.contentHash), \(event.userID), \(event.label), \(now), 0, 0)
            RETURNING id
            """, as: Int64.self) else { return .failure(.internalInconsistency) }
        // Images named by id must still be stored: retention may have removed one since intake checked.
        let named = Array(Set(unique.map(\.imageID)).subtracting(event.images.keys))
        if !named.isEmpty {
            let stored = Set(try session.rows("SELECT id FROM image WHERE purged_at IS NULL AND id = ANY(\(named))")
                .map { try $0.get("id", as: String.self) })
            let gone = Set(named).subtracting(stored)
            if !gone.isEmpty { return .failure(.imagesGone(gone.sorted())) }
        }
        // What the store already holds for the event's images decides duplicates and the split.
        let images = Array(Set(unique.map(\.imageID)))
        let existing = try session.rows("""
            SELECT image_id, kind, label, state FROM sample WHERE model = \(event.model) AND image_id = ANY(\(images))
            """).compactMap { row -> IntakeRules.Existing? in
            guard let state = SampleState(rawValue: try row.get("state")) else { return nil }
            return IntakeRules.Existing(imageID: try row.get("image_id"), kind: try row.get("kind"), label: try row.get("label"), state: state)
        }
        let planned = try IntakeRules.plan(unique, existing: existing, policy: policy) { label in
            try heldOutCount(session, model: event.model, label: label)
        }
        for chunk in chunks(planned, size: 200) {
            var binds = PostgresBindings(capacity: chunk.count * 7)
            for (sample, state) in chunk {
                binds.append(eventID)
                binds.append(event.model)
                binds.append(sample.imageID)
                binds.append(sample.kind.rawValue)
                binds.append(sample.label)
                binds.append(now)
                binds.append(state.rawValue)
            }
            try session.query(PostgresQuery(unsafeSQL: """
                INSERT INTO sample (event_id, model, image_id, kind, label, created_at, state) VALUES \(valueRows(chunk.count, columns: 7))
                """, binds: binds))
        }
        let accepted = planned.count
        let duplicates = event.samples.count - accepted
        try insertEmbeddings(session, event.embeddings, model: event.model, version: event.embeddingVersion)
        try session.query("UPDATE event SET accepted = \(accepted), duplicates = \(duplicates) WHERE id = \(eventID)")
        return .success(FeedbackReceipt(eventID: eventID, accepted: accepted, duplicates: duplicates, replayed: false, queueDepth: 0))
    }

    /// Stores image bytes by id, 100 rows a statement. An image stored before keeps its row; one
    /// removed by retention gets its bytes back. The caller holds `AdvisoryLock.images` shared.
    static func upsertImages(_ session: Session, _ images: [(id: String, bytes: Data)], at now: Date) throws {
        for chunk in chunks(images, size: 100) {
            var binds = PostgresBindings(capacity: chunk.count * 4)
            for image in chunk {
                binds.append(image.id)
                try binds.append(image.bytes)
                binds.append(image.bytes.count)
                binds.append(now)
            }
            try session.query(PostgresQuery(unsafeSQL: """
                INSERT INTO image (id, bytes, size, created_at) VALUES \(valueRows(chunk.count, columns: 4))
                ON CONFLICT (id) DO UPDATE SET bytes = EXCLUDED.bytes, size = EXCLUDED.size, created_at = EXCLUDED.created_at,
                purged_at = NULL WHERE image.purged_at IS NOT NULL
                """, binds: binds))
        }
    }

    /// Little-endian float32 blobs. Base-data keys (`demo:`, `folder:`) always; image ids only when
    /// the store holds the image.
    static func insertEmbeddings(_ session: Session, _ vectors: [String: [Float]], model: String, version: Int) throws {
        for (key, vector) in vectors.sorted(by: { $0.key < $1.key }) {
            if key.contains(":") {
                try session.query("""
                    INSERT INTO base_embedding (key, model, version, vector) VALUES (\(key), \(model), \(version), \(blob(vector)))
                    ON CONFLICT (key, model, version) DO UPDATE SET vector = EXCLUDED.vector
                    """)
            } else {
                try session.query("""
                    INSERT INTO embedding (image_id, model, version, vector)
                    SELECT id, \(model), \(version), \(blob(vector)) FROM image WHERE id = \(key) AND purged_at IS NULL
                    ON CONFLICT (image_id, model, version) DO UPDATE SET vector = EXCLUDED.vector
                    """)
            }
        }
    }
}
