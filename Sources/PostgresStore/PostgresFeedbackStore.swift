import FeedbackStore
import Foundation
import Logging
import PostgresNIO

/// The feedback store on PostgreSQL, for deployments where several processes share one queue:
/// the same protocol and the same promises as `SQLiteFeedbackStore`. Every write is one
/// transaction committed with `synchronous_commit = on` before the call returns; idempotency keys
/// are unique per model in the database, so a retry through another replica is still a replay;
/// intake for one model is serialised across processes by an advisory lock, so duplicate checks,
/// quotas and the held-out cap see every replica's submissions.
public final class PostgresFeedbackStore: FeedbackStore {
    let connections: PostgresConnections
    let logger: Logger

    /// Connects, refuses a server that would not keep commits across a crash, and migrates.
    /// `resetInterruptedTraining`: return samples a killed retrain left in `training` to pending —
    /// only the process that runs retrains may do that (another replica starting up must not take
    /// samples from a retrain in flight).
    public init(location: PostgresLocation, resetInterruptedTraining: Bool = true,
                logger: Logger = Logger(label: "boundary.feedback-store")) throws {
        self.logger = logger
        connections = PostgresConnections(location: location, logger: logger)
        do {
            try connections.withConnection { session in
                let fsync = try session.scalar("SHOW fsync", as: String.self)
                guard fsync == "on" else { throw PostgresStoreError.notDurable("the server runs with fsync = \(fsync ?? "?")") }
            }
            try PostgresSchema.migrate(connections)
            if resetInterruptedTraining { _ = try self.resetInterruptedTraining() }
        } catch {
            connections.shutdown()
            throw error
        }
    }

    /// Opens the store at a `postgres://` URL.
    public convenience init(url: String, resetInterruptedTraining: Bool = true,
                            logger: Logger = Logger(label: "boundary.feedback-store")) throws {
        try self.init(location: try PostgresLocation(url: url), resetInterruptedTraining: resetInterruptedTraining, logger: logger)
    }

    deinit { connections.shutdown() }

    public func storedImages(among imageIDs: [String]) throws -> Set<String> {
        guard !imageIDs.isEmpty else { return [] }
        return try connections.withConnection { session in
            Set(try session.rows("SELECT id FROM image WHERE purged_at IS NULL AND id = ANY(\(imageIDs))").map { try $0.get("id") })
        }
    }

    public func openSampleCounts(model: String, imageIDs: [String]) throws -> [String: Int] {
        guard !imageIDs.isEmpty else { return [:] }
        let open = SampleState.open.map(\.rawValue)
        return try connections.withConnection { session in
            var counts: [String: Int] = [:]
            for row in try session.rows("""
                SELECT image_id, COUNT(*) AS n FROM sample WHERE model = \(model) AND image_id = ANY(\(imageIDs)) AND state = ANY(\(open))
                GROUP BY image_id
                """) {
                counts[try row.get("image_id")] = try row.get("n", as: Int.self)
            }
            return counts
        }
    }

    public func imageBytes(_ imageID: String) throws -> Data? {
        try connections.withConnection { session in
            try session.scalar("SELECT bytes FROM image WHERE id = \(imageID) AND purged_at IS NULL", as: Data.self)
        }
    }

    public func queue(model: String) throws -> QueueSummary {
        try connections.withConnection { session in
            var summary = QueueSummary()
            summary.events = try session.scalar("SELECT COUNT(*) FROM event WHERE model = \(model)", as: Int.self) ?? 0
            for row in try session.rows("""
                SELECT state, COALESCE(reason, '') AS reason, COUNT(*) AS n FROM sample WHERE model = \(model) GROUP BY state, reason
                """) {
                let count: Int = try row.get("n")
                summary.total += count
                guard let state = SampleState(rawValue: try row.get("state")) else { continue }
                summary.byState[state, default: 0] += count
                if state == .unusable { summary.unusableReasons[try row.get("reason"), default: 0] += count }
            }
            for row in try session.rows("""
                SELECT label, kind, COUNT(*) AS n FROM sample WHERE model = \(model) AND state = 'pending' GROUP BY label, kind
                """) {
                let count: Int = try row.get("n")
                let label: String = try row.get("label")
                var counts = summary.byLabel[label] ?? QueueSummary.Counts()
                switch SampleKind(rawValue: try row.get("kind")) {
                case .positive: counts.positive += count
                case .negative: counts.negative += count
                case .correction: counts.corrected += count
                case nil: continue
                }
                summary.byLabel[label] = counts
            }
            if let stored = try session.one("""
                SELECT COUNT(*) AS n, COALESCE(SUM(size), 0)::BIGINT AS bytes, pg_database_size(current_database()) AS disk
                FROM image WHERE purged_at IS NULL
                """) {
                summary.storedImages = try stored.get("n")
                summary.imageBytes = try stored.get("bytes")
                summary.databaseBytes = try stored.get("disk")
            }
            return summary
        }
    }

    public func samples(model: String, in states: Set<SampleState>) throws -> [StoredSample] {
        guard !states.isEmpty else { return [] }
        return try connections.withConnection { session in
            try session.rows("""
                SELECT sample.id, sample.event_id, event.user_id, sample.image_id, sample.kind, sample.label, sample.state, sample.released,
                EXISTS (SELECT 1 FROM sample AS trained WHERE trained.event_id = sample.event_id AND trained.state = 'consumed') AS vetted
                FROM sample JOIN event ON event.id = sample.event_id
                WHERE sample.model = \(model) AND sample.state = ANY(\(states.map(\.rawValue))) ORDER BY sample.id
                """).map { row in
                let id: Int64 = try row.get("id")
                guard let kind = SampleKind(rawValue: try row.get("kind")), let state = SampleState(rawValue: try row.get("state")) else {
                    throw PostgresStoreError.corrupt("sample \(id) has an unknown kind or state")
                }
                return StoredSample(id: id, eventID: try row.get("event_id"), userID: try row.get("user_id"),
                                    sample: FeedbackSample(imageID: try row.get("image_id"), kind: kind, label: try row.get("label")),
                                    state: state, released: try row.get("released"), vetted: try row.get("vetted"))
            }
        }
    }

    /// Pending samples of `model`, from the counts the trigger keeps.
    static func pendingCount(_ session: Session, model: String) throws -> Int {
        try session.scalar("SELECT COALESCE(SUM(n), 0)::BIGINT FROM sample_count WHERE model = \(model) AND state = 'pending'",
                           as: Int.self) ?? 0
    }

    static func heldOutCount(_ session: Session, model: String, label: String) throws -> Int {
        try session.scalar("SELECT n FROM sample_count WHERE model = \(model) AND state = 'held-out' AND label = \(label)",
                           as: Int.self) ?? 0
    }
}
