import FeedbackStore
import Foundation
import PostgresNIO

extension PostgresFeedbackStore {
    public func setState(_ sampleIDs: [Int64], to state: SampleState, version: Int?, reason: String?,
                         ifIn current: SampleState?) throws {
        guard !sampleIDs.isEmpty else { return }
        try connections.transaction { session in
            try session.query("""
                UPDATE sample SET state = \(state.rawValue), consumed_by_version = COALESCE(\(version), consumed_by_version),
                reason = \(reason) WHERE id = ANY(\(sampleIDs)) AND (\(current?.rawValue)::TEXT IS NULL OR state = \(current?.rawValue))
                """)
        }
    }

    public func resetInterruptedTraining() throws -> Int {
        try connections.transaction { session in
            try session.changes("UPDATE sample SET state = 'pending' WHERE state = 'training'")
        }
    }

    public func quarantine(model: String, _ selector: FeedbackSelector, verdict: String) throws -> Int {
        try connections.transaction { session in
            let events = try Self.eventIDs(session, model: model, selector)
            guard !events.isEmpty else { return 0 }
            let moved = try session.changes("""
                UPDATE sample SET state = 'quarantined', reason = \(verdict)
                WHERE event_id = ANY(\(events)) AND state IN ('pending', 'training', 'held-out')
                """)
            try session.query("UPDATE event SET verdict = \(verdict) WHERE id = ANY(\(events))")
            return moved
        }
    }

    public func quarantinedEvents(model: String) throws -> [QuarantinedEvent] {
        try connections.withConnection { session in
            try session.rows("""
                SELECT event.id, event.user_id, event.label, event.created_at, COALESCE(event.verdict, '') AS verdict, COUNT(*) AS n
                FROM sample JOIN event ON event.id = sample.event_id
                WHERE sample.model = \(model) AND sample.state = 'quarantined'
                GROUP BY event.id ORDER BY event.id DESC
                """).map { row in
                QuarantinedEvent(eventID: try row.get("id"), userID: try row.get("user_id"), label: try row.get("label"),
                                 createdAt: (try row.get("created_at", as: Date.self)).formatted(.iso8601),
                                 quarantinedSamples: try row.get("n"), verdict: try row.get("verdict"))
            }
        }
    }

    public func release(model: String, _ selector: FeedbackSelector) throws -> Int {
        try connections.transaction { session in
            let events = try Self.eventIDs(session, model: model, selector)
            guard !events.isEmpty else { return 0 }
            let rows = try session.rows("SELECT id, image_id FROM sample WHERE state = 'quarantined' AND event_id = ANY(\(events))")
            // Back to the side of the split the image's other samples are on, or its id's.
            let images = Array(Set(try rows.map { try $0.get("image_id", as: String.self) }))
            var split: [String: SampleState] = [:]
            for other in try session.rows("""
                SELECT image_id, state FROM sample WHERE model = \(model) AND state IN ('held-out', 'pending', 'training', 'consumed')
                AND image_id = ANY(\(images))
                """) {
                let image: String = try other.get("image_id")
                if try other.get("state", as: String.self) == SampleState.heldOut.rawValue { split[image] = .heldOut }
                else if split[image] == nil { split[image] = .pending }
            }
            var toHeldOut: [Int64] = []
            var toPending: [Int64] = []
            for row in rows {
                let image: String = try row.get("image_id")
                let state = split[image] ?? (EvaluationSplit.isHeldOut(image) ? .heldOut : .pending)
                if state == .heldOut { toHeldOut.append(try row.get("id")) } else { toPending.append(try row.get("id")) }
            }
            for (ids, state) in [(toHeldOut, SampleState.heldOut), (toPending, .pending)] where !ids.isEmpty {
                try session.query("UPDATE sample SET state = \(state.rawValue), reason = NULL, released = true WHERE id = ANY(\(ids))")
            }
            try session.query("UPDATE event SET verdict = NULL WHERE id = ANY(\(events))")
            return rows.count
        }
    }

    public func discard(model: String, _ selector: FeedbackSelector) throws -> Int {
        try connections.transaction { session in
            let events = try Self.eventIDs(session, model: model, selector)
            guard !events.isEmpty else { return 0 }
            return try session.changes("""
                UPDATE sample SET state = 'discarded', reason = 'discarded by an admin'
                WHERE event_id = ANY(\(events)) AND state IN ('pending', 'training', 'held-out', 'quarantined')
                """)
        }
    }

    private static func eventIDs(_ session: Session, model: String, _ selector: FeedbackSelector) throws -> [Int64] {
        switch selector {
        case .events(let ids):
            guard !ids.isEmpty else { return [] }
            return try session.rows("SELECT id FROM event WHERE model = \(model) AND id = ANY(\(ids)) ORDER BY id").map { try $0.get("id") }
        case .user(let user):
            return try session.rows("SELECT id FROM event WHERE model = \(model) AND user_id = \(user) ORDER BY id").map { try $0.get("id") }
        }
    }

    // Embeddings and retention.

    public func embeddings(model: String, version: Int, keys: [String]) throws -> [String: [Float]] {
        guard !keys.isEmpty else { return [:] }
        return try connections.withConnection { session in
            var result: [String: [Float]] = [:]
            for row in try session.rows("""
                SELECT image_id AS key, vector FROM embedding WHERE model = \(model) AND version = \(version) AND image_id = ANY(\(keys))
                UNION ALL
                SELECT key, vector FROM base_embedding WHERE model = \(model) AND version = \(version) AND key = ANY(\(keys))
                """) {
                result[try row.get("key")] = floats(try row.get("vector"))
            }
            return result
        }
    }

    public func storeEmbeddings(_ vectors: [String: [Float]], model: String, version: Int) throws {
        guard !vectors.isEmpty else { return }
        try connections.transaction { session in
            // Retention holds this lock exclusively while it purges images and their embeddings.
            try session.lock(.images, shared: true)
            try Self.insertEmbeddings(session, vectors, model: model, version: version)
        }
    }

    public func modelsWithEmbeddings() throws -> Set<String> {
        try connections.withConnection { session in
            Set(try session.rows("SELECT DISTINCT model FROM embedding UNION SELECT DISTINCT model FROM base_embedding")
                .map { try $0.get("model", as: String.self) })
        }
    }

    public func pruneEmbeddings(model: String, keepVersions keep: Set<Int>) throws -> Int {
        let kept = keep.sorted()
        return try connections.transaction { session in
            try session.changes("DELETE FROM embedding WHERE model = \(model) AND NOT (version = ANY(\(kept)))")
                + session.changes("DELETE FROM base_embedding WHERE model = \(model) AND NOT (version = ANY(\(kept)))")
        }
    }

    /// Oldest first: images past the age limit, then more until the bytes fit; an image an open
    /// or quarantined sample needs is pinned. The row stays (lineage names it); bytes and
    /// embeddings go.
    public func enforceRetention(_ limits: RetentionLimits, now: Date) throws -> RetentionReport {
        let needed = SampleState.needsImage.map(\.rawValue)
        return try connections.transaction { session in
            try session.lock(.images)  // Waits for intakes in flight (see `record`).
            var report = RetentionReport()
            let candidates = try session.rows("""
                SELECT id, size, created_at,
                EXISTS (SELECT 1 FROM sample WHERE sample.image_id = image.id AND sample.state = ANY(\(needed))) AS pinned
                FROM image WHERE purged_at IS NULL ORDER BY created_at, id
                """)
            var total = try candidates.reduce(0) { $0 + (try $1.get("size", as: Int.self)) }
            let cutoff = now.addingTimeInterval(-limits.maxAge)
            var removed: [String] = []
            for row in candidates {
                let size: Int = try row.get("size")
                let tooOld = try row.get("created_at", as: Date.self) < cutoff
                guard tooOld || total > limits.maxImageBytes else { continue }
                if try row.get("pinned", as: Bool.self) {
                    report.bytesPinned += size
                    continue
                }
                removed.append(try row.get("id"))
                total -= size
                report.imagesRemoved += 1
                report.bytesRemoved += size
            }
            for chunk in chunks(removed, size: 1000) {
                try session.query("UPDATE image SET bytes = '\\x'::BYTEA, size = 0, purged_at = \(now) WHERE id = ANY(\(chunk))")
                try session.query("DELETE FROM embedding WHERE image_id = ANY(\(chunk))")
            }
            return report
        }
    }
}
