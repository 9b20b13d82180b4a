import Foundation
import GRDB

/// The embedded feedback store: one SQLite file in WAL mode with `synchronous=FULL`, so a commit
/// is on disk (fsynced) before `record` returns. Readers never block the writer.
public final class SQLiteFeedbackStore: FeedbackStore {
    private let pool: DatabasePool

    /// Opens (creating and migrating if needed) the store at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    public func record(_ event: FeedbackEvent) throws -> FeedbackReceipt {
        try pool.write { db in
            if let row = try Row.fetchOne(db, sql: """
                SELECT id, accepted, duplicates FROM event WHERE model = ? AND idempotencyKey = ?
                """, arguments: [event.model, event.idempotencyKey]) {
                return FeedbackReceipt(eventID: row["id"], accepted: row["accepted"], duplicates: row["duplicates"],
                                       replayed: true, queueDepth: try Self.pendingCount(db, model: event.model))
            }
            let now = Self.timestamp()
            for (id, bytes) in event.images {
                try db.execute(sql: "INSERT OR IGNORE INTO image (id, bytes, size, createdAt) VALUES (?, ?, ?, ?)",
                               arguments: [id, bytes, bytes.count, now])
            }
            try db.execute(sql: """
                INSERT INTO event (model, idempotencyKey, userID, label, createdAt, accepted, duplicates)
                VALUES (?, ?, ?, ?, ?, 0, 0)
                """, arguments: [event.model, event.idempotencyKey, event.userID, event.label, now])
            let eventID = db.lastInsertedRowID
            var accepted = 0
            var duplicates = 0
            for sample in Set(event.samples).sorted(by: { ($0.imageID, $0.kind.rawValue, $0.label) < ($1.imageID, $1.kind.rawValue, $1.label) }) {
                let pending = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM sample WHERE model = ? AND imageID = ? AND kind = ? AND label = ?
                    AND consumedByVersion IS NULL
                    """, arguments: [event.model, sample.imageID, sample.kind.rawValue, sample.label]) ?? 0
                if pending > 0 {
                    duplicates += 1
                    continue
                }
                try db.execute(sql: """
                    INSERT INTO sample (eventID, model, imageID, kind, label, createdAt) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [eventID, event.model, sample.imageID, sample.kind.rawValue, sample.label, now])
                accepted += 1
            }
            duplicates += event.samples.count - Set(event.samples).count
            try Self.insertEmbeddings(db, event.embeddings, model: event.model, version: event.embeddingVersion)
            try db.execute(sql: "UPDATE event SET accepted = ?, duplicates = ? WHERE id = ?",
                           arguments: [accepted, duplicates, eventID])
            return FeedbackReceipt(eventID: eventID, accepted: accepted, duplicates: duplicates, replayed: false,
                                   queueDepth: try Self.pendingCount(db, model: event.model))
        }
    }

    public func storedImages(among imageIDs: [String]) throws -> Set<String> {
        guard !imageIDs.isEmpty else { return [] }
        return try pool.read { db in
            let placeholders = Array(repeating: "?", count: imageIDs.count).joined(separator: ",")
            return Set(try String.fetchAll(db, sql: "SELECT id FROM image WHERE id IN (\(placeholders))",
                                           arguments: StatementArguments(imageIDs)))
        }
    }

    public func imageBytes(_ imageID: String) throws -> Data? {
        try pool.read { db in try Data.fetchOne(db, sql: "SELECT bytes FROM image WHERE id = ?", arguments: [imageID]) }
    }

    public func queue(model: String) throws -> QueueSummary {
        try pool.read { db in
            var summary = QueueSummary()
            summary.total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample WHERE model = ?", arguments: [model]) ?? 0
            summary.events = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event WHERE model = ?", arguments: [model]) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT label, kind, COUNT(*) AS n FROM sample WHERE model = ? AND consumedByVersion IS NULL
                GROUP BY label, kind
                """, arguments: [model])
            for row in rows {
                let count: Int = row["n"]
                let label: String = row["label"]
                summary.pending += count
                var counts = summary.byLabel[label] ?? QueueSummary.Counts()
                switch SampleKind(rawValue: row["kind"]) {
                case .positive: counts.positive += count
                case .negative: counts.negative += count
                case .correction: counts.corrected += count
                case nil: continue
                }
                summary.byLabel[label] = counts
            }
            return summary
        }
    }

    public func pendingSamples(model: String) throws -> [StoredSample] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, eventID, imageID, kind, label FROM sample
                WHERE model = ? AND consumedByVersion IS NULL ORDER BY id
                """, arguments: [model]).compactMap { row in
                guard let kind = SampleKind(rawValue: row["kind"]) else { return nil }
                return StoredSample(id: row["id"], eventID: row["eventID"],
                                    sample: FeedbackSample(imageID: row["imageID"], kind: kind, label: row["label"]))
            }
        }
    }

    public func markConsumed(_ sampleIDs: [Int64], byVersion version: Int) throws {
        try pool.write { db in
            for id in sampleIDs {
                try db.execute(sql: "UPDATE sample SET consumedByVersion = ? WHERE id = ?", arguments: [version, id])
            }
        }
    }

    public func embeddings(model: String, version: Int, imageIDs: [String]) throws -> [String: [Float]] {
        guard !imageIDs.isEmpty else { return [:] }
        return try pool.read { db in
            var result: [String: [Float]] = [:]
            for chunk in stride(from: 0, to: imageIDs.count, by: 500) {
                let ids = Array(imageIDs[chunk..<min(chunk + 500, imageIDs.count)])
                let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: """
                    SELECT imageID, vector FROM embedding WHERE model = ? AND version = ? AND imageID IN (\(placeholders))
                    """, arguments: StatementArguments([model, version] as [any DatabaseValueConvertible] + ids))
                for row in rows {
                    let data: Data = row["vector"]
                    result[row["imageID"]] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                }
            }
            return result
        }
    }

    public func storeEmbeddings(_ vectors: [String: [Float]], model: String, version: Int) throws {
        guard !vectors.isEmpty else { return }
        try pool.write { db in try Self.insertEmbeddings(db, vectors, model: model, version: version) }
    }

    /// Embeddings as little-endian float32 blobs; only for images the store holds.
    private static func insertEmbeddings(_ db: Database, _ vectors: [String: [Float]], model: String, version: Int) throws {
        for (id, vector) in vectors {
            let blob = vector.withUnsafeBufferPointer { Data(buffer: $0) }
            try db.execute(sql: """
                INSERT OR REPLACE INTO embedding (imageID, model, version, vector)
                SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM image WHERE id = ?)
                """, arguments: [id, model, version, blob, id])
        }
    }

    private static func pendingCount(_ db: Database, model: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample WHERE model = ? AND consumedByVersion IS NULL",
                         arguments: [model]) ?? 0
    }

    private static func timestamp() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
