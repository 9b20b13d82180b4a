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
            try session.lock(.images, shared: true)
            try Self.upsertImages(session, unique.map { (id: $0.id, bytes: $0.bytes) }, at: now)
            for chunk in chunks(unique, size: 100) {
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
