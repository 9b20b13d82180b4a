import Foundation
import GRDB

extension SQLiteFeedbackStore {
    public func embeddings(model: String, version: Int, keys: [String]) throws -> [String: [Float]] {
        guard !keys.isEmpty else { return [:] }
        return try pool.read { db in
            var result: [String: [Float]] = [:]
            for chunk in Self.chunks(keys) {
                var values: [(any DatabaseValueConvertible)?] = [model, version]
                values += chunk.map { $0 as (any DatabaseValueConvertible)? }
                let arguments = StatementArguments(values)
                let list = Self.placeholders(chunk.count)
                for sql in ["SELECT imageID AS key, vector FROM embedding WHERE model = ? AND version = ? AND imageID IN (\(list))",
                            "SELECT key, vector FROM baseEmbedding WHERE model = ? AND version = ? AND key IN (\(list))"] {
                    for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                        let data: Data = row["vector"]
                        result[row["key"]] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                    }
                }
            }
            return result
        }
    }

    public func storeEmbeddings(_ vectors: [String: [Float]], model: String, version: Int) throws {
        guard !vectors.isEmpty else { return }
        try pool.write { db in try Self.insertEmbeddings(db, vectors, model: model, version: version) }
    }

    /// Little-endian float32 blobs. Keys of base data (`demo:`, `folder:`) go to `baseEmbedding`;
    /// image ids only when the store holds the image.
    static func insertEmbeddings(_ db: Database, _ vectors: [String: [Float]], model: String, version: Int) throws {
        let image = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO embedding (imageID, model, version, vector)
            SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM image WHERE id = ? AND purgedAt IS NULL)
            """)
        let base = try db.cachedStatement(sql: "INSERT OR REPLACE INTO baseEmbedding (key, model, version, vector) VALUES (?, ?, ?, ?)")
        for (key, vector) in vectors {
            let blob = vector.withUnsafeBufferPointer { Data(buffer: $0) }
            if key.contains(":") {
                try base.execute(arguments: [key, model, version, blob])
            } else {
                try image.execute(arguments: [key, model, version, blob, key])
            }
        }
    }

    public func modelsWithEmbeddings() throws -> Set<String> {
        try pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT model FROM embedding UNION SELECT DISTINCT model FROM baseEmbedding"))
        }
    }

    public func pruneEmbeddings(model: String, keepVersions keep: Set<Int>) throws -> Int {
        try pool.write { db in
            let kept = keep.isEmpty ? "-1" : keep.map(String.init).joined(separator: ",")  // Integers only: safe to inline.
            try db.execute(sql: "DELETE FROM embedding WHERE model = ? AND version NOT IN (\(kept))", arguments: [model])
            var deleted = db.changesCount
            try db.execute(sql: "DELETE FROM baseEmbedding WHERE model = ? AND version NOT IN (\(kept))", arguments: [model])
            deleted += db.changesCount
            return deleted
        }
    }

    /// Oldest first: images past the age limit, then more until the bytes fit. An image an open or
    /// quarantined sample refers to is pinned. Removal keeps the row (lineage still names it) and
    /// drops the bytes and embeddings; SQLite reuses the freed pages for new images.
    public func enforceRetention(_ limits: RetentionLimits, now: Date) throws -> RetentionReport {
        try pool.write { db in
            var report = RetentionReport()
            let needed = SampleState.needsImage.map { "'\($0.rawValue)'" }.joined(separator: ",")
            let candidates = try Row.fetchAll(db, sql: """
                SELECT id, size, createdAt, EXISTS (SELECT 1 FROM sample WHERE sample.imageID = image.id AND sample.state IN (\(needed))) AS pinned
                FROM image WHERE purgedAt IS NULL ORDER BY createdAt, id
                """)
            var total = candidates.reduce(0) { $0 + ($1["size"] as Int) }
            let cutoff = Self.timestamp(now.addingTimeInterval(-limits.maxAge))
            let stamp = Self.timestamp(now)
            for row in candidates {
                let size: Int = row["size"]
                let pinned: Bool = row["pinned"]
                let tooOld = (row["createdAt"] as String) < cutoff
                guard tooOld || total > limits.maxImageBytes else { continue }
                if pinned {
                    report.bytesPinned += size
                    continue
                }
                let id: String = row["id"]
                try db.execute(sql: "UPDATE image SET bytes = x'', size = 0, purgedAt = ? WHERE id = ?", arguments: [stamp, id])
                try db.execute(sql: "DELETE FROM embedding WHERE imageID = ?", arguments: [id])
                total -= size
                report.imagesRemoved += 1
                report.bytesRemoved += size
            }
            return report
        }
    }
}
