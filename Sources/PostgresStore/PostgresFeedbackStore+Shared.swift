import FeedbackStore
import Foundation
import PostgresNIO

extension PostgresFeedbackStore: SharedImageStore {
    public func rememberPredicted(_ images: [PredictedImage]) throws {
        guard !images.isEmpty else { return }
        var latest: [String: PredictedImage] = [:]
        for image in images { latest[image.id] = image }  // An upsert touches a row once per statement.
        let unique = latest.sorted { $0.key < $1.key }.map(\.value)
        let now = Date()
        try connections.transaction { session in
            // Retention holds this lock exclusively while it purges (see `record`).
            try session.query("SELECT pg_advisory_xact_lock_shared(hashtextextended('boundary.images', 0))")
            for chunk in chunks(unique, size: 100) {
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
                var vectors = PostgresBindings(capacity: chunk.count * 4)
                for image in chunk {
                    vectors.append(image.id)
                    vectors.append(image.model)
                    vectors.append(image.backbone)
                    try vectors.append(blob(image.embedding))
                }
                try session.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO embedding (image_id, model, version, vector) VALUES \(valueRows(chunk.count, columns: 4))
                    ON CONFLICT (image_id, model, version) DO NOTHING
                    """, binds: vectors))
            }
        }
    }
}
