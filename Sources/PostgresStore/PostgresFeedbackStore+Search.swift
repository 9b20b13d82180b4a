import FeedbackStore
import Foundation
import PostgresNIO

extension PostgresFeedbackStore: SearchStore {
    public func saveSearchEntries(_ entries: [SearchEntryRecord]) throws {
        guard !entries.isEmpty else { return }
        // One row per (model, image): an upsert may not touch a row twice in one statement.
        var latest: [String: SearchEntryRecord] = [:]
        for entry in entries { latest["\(entry.model)\t\(entry.imageID)"] = entry }
        let unique = latest.sorted { $0.key < $1.key }.map(\.value)
        try connections.transaction { session in
            for chunk in chunks(unique, size: 100) {
                var binds = PostgresBindings(capacity: chunk.count * 9)
                for entry in chunk {
                    binds.append(entry.model)
                    binds.append(entry.imageID)
                    binds.append(entry.backbone)
                    binds.append(entry.version)
                    binds.append(entry.label)
                    binds.append(entry.margin)
                    binds.append(entry.isBoundary)
                    binds.append(entry.seenAt.timeIntervalSince1970)
                    try binds.append(blob(entry.vector))
                }
                try session.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO search_entry (model, image_id, backbone, version, label, margin, boundary, seen_at, vector)
                    VALUES \(valueRows(chunk.count, columns: 9))
                    ON CONFLICT (model, image_id) DO UPDATE SET backbone = EXCLUDED.backbone, version = EXCLUDED.version,
                    label = EXCLUDED.label, margin = EXCLUDED.margin, boundary = EXCLUDED.boundary, seen_at = EXCLUDED.seen_at,
                    vector = EXCLUDED.vector
                    WHERE search_entry.backbone <= EXCLUDED.backbone  -- a replica still on the old version keeps out of a rebuilt entry
                    """, binds: binds))
            }
        }
    }

    public func searchEntries(model: String) throws -> [SearchEntryRecord] {
        try searchEntries(model: model, seenSince: .distantPast)
    }

    public func searchEntries(model: String, seenSince since: Date) throws -> [SearchEntryRecord] {
        try connections.withConnection { session in
            try session.rows("""
                SELECT model, image_id, backbone, version, label, margin, boundary, seen_at, vector FROM search_entry
                WHERE model = \(model) AND seen_at >= \(since.timeIntervalSince1970) ORDER BY seen_at, image_id
                """).map { row in
                SearchEntryRecord(model: try row.get("model"), imageID: try row.get("image_id"), backbone: try row.get("backbone"),
                                  version: try row.get("version"), label: try row.get("label"), margin: try row.get("margin"),
                                  isBoundary: try row.get("boundary"), seenAt: Date(timeIntervalSince1970: try row.get("seen_at")),
                                  vector: floats(try row.get("vector")))
            }
        }
    }

    public func searchModels() throws -> Set<String> {
        try connections.withConnection { session in
            Set(try session.rows("SELECT DISTINCT model FROM search_entry UNION SELECT DISTINCT model FROM learned_query")
                .map { try $0.get("model", as: String.self) })
        }
    }

    public func deleteSearchEntries(model: String, imageIDs: [String]) throws {
        guard !imageIDs.isEmpty else { return }
        try connections.transaction { session in
            try session.query("DELETE FROM search_entry WHERE model = \(model) AND image_id = ANY(\(imageIDs))")
        }
    }

    public func trimSearchEntries(model: String, maxEntries: Int, seenBefore cutoff: Date) throws -> [String] {
        try connections.transaction { session in
            var removed = try session.rows("""
                DELETE FROM search_entry WHERE model = \(model) AND seen_at < \(cutoff.timeIntervalSince1970) RETURNING image_id
                """).map { try $0.get("image_id", as: String.self) }
            let count = try session.scalar("SELECT COUNT(*) FROM search_entry WHERE model = \(model)", as: Int.self) ?? 0
            if count > maxEntries {
                removed += try session.rows("""
                    DELETE FROM search_entry WHERE model = \(model) AND image_id IN (
                        SELECT image_id FROM search_entry WHERE model = \(model) ORDER BY seen_at, image_id LIMIT \(count - maxEntries))
                    RETURNING image_id
                    """).map { try $0.get("image_id", as: String.self) }
            }
            return removed
        }
    }

    public func searchIndexBackbone(model: String) throws -> Int? {
        try connections.withConnection { session in
            try session.scalar("SELECT backbone FROM search_index_backbone WHERE model = \(model)", as: Int.self)
        }
    }

    public func setSearchIndexBackbone(model: String, backbone: Int) throws {
        try connections.transaction { session in
            try session.query("""
                INSERT INTO search_index_backbone (model, backbone, rebuilt_at) VALUES (\(model), \(backbone), \(Date().timeIntervalSince1970))
                ON CONFLICT (model) DO UPDATE SET backbone = EXCLUDED.backbone, rebuilt_at = EXCLUDED.rebuilt_at
                """)
        }
    }

    public func learnedQueries(model: String) throws -> [LearnedQueryRecord] {
        try connections.withConnection { session in
            try session.rows("SELECT * FROM learned_query WHERE model = \(model) ORDER BY word").map(Self.query)
        }
    }

    public func learnedQuery(model: String, word: String) throws -> LearnedQueryRecord? {
        try connections.withConnection { session in try Self.query(session, model: model, word: word) }
    }

    public func saveLearnedQuery(_ query: LearnedQueryRecord) throws {
        try connections.transaction { session in try Self.save(session, query) }
    }

    public func deleteLearnedQuery(model: String, word: String) throws -> Bool {
        try connections.transaction { session in
            let existed = try session.changes("DELETE FROM learned_query WHERE model = \(model) AND word = \(word)") > 0
            try session.query("DELETE FROM search_mark WHERE model = \(model) AND word = \(word)")
            // Its keys go too: the same key may start the word again.
            try session.query("DELETE FROM search_mark_key WHERE model = \(model) AND word = \(word)")
            return existed
        }
    }

    public func searchMarks(model: String, word: String) throws -> [SearchMark] {
        try connections.withConnection { session in try Self.marks(session, model: model, word: word) }
    }

    /// Rounds of marks on one word are serialised across processes by an advisory lock, so the
    /// query update always starts from every earlier round.
    public func recordMarks(model: String, word: String, idempotencyKey: String, contentHash: String, marks: [SearchMark],
                            update: (LearnedQueryRecord?, [SearchMark]) throws -> LearnedQueryRecord?) throws -> MarkOutcome {
        try connections.transaction { session in
            try session.lock(.marks(model: model, word: word))
            try session.lock(.markKey(model: model, key: idempotencyKey))
            if let row = try session.one("""
                SELECT word, content_hash FROM search_mark_key WHERE model = \(model) AND idempotency_key = \(idempotencyKey)
                """) {
                guard try row.get("word", as: String.self) == word, try row.get("content_hash", as: String.self) == contentHash else {
                    throw FeedbackStoreError.keyReused(key: idempotencyKey, eventID: 0)
                }
                return MarkOutcome(query: try Self.query(session, model: model, word: word), replayed: true)
            }
            let now = Date().timeIntervalSince1970
            try session.query("""
                INSERT INTO search_mark_key (model, word, idempotency_key, content_hash, created_at)
                VALUES (\(model), \(word), \(idempotencyKey), \(contentHash), \(now))
                """)
            var latest: [String: Bool] = [:]
            for mark in marks { latest[mark.imageID] = mark.relevant }
            for (image, relevant) in latest.sorted(by: { $0.key < $1.key }) {
                try session.query("""
                    INSERT INTO search_mark (model, word, image_id, relevant, marked_at) VALUES (\(model), \(word), \(image), \(relevant), \(now))
                    ON CONFLICT (model, word, image_id) DO UPDATE SET relevant = EXCLUDED.relevant, marked_at = EXCLUDED.marked_at
                    """)
            }
            let updated = try update(try Self.query(session, model: model, word: word), try Self.marks(session, model: model, word: word))
            if let updated { try Self.save(session, updated) }
            return MarkOutcome(query: updated, replayed: false)
        }
    }

    private static func marks(_ session: Session, model: String, word: String) throws -> [SearchMark] {
        try session.rows("SELECT image_id, relevant FROM search_mark WHERE model = \(model) AND word = \(word) ORDER BY image_id")
            .map { SearchMark(imageID: try $0.get("image_id"), relevant: try $0.get("relevant")) }
    }

    private static func query(_ session: Session, model: String, word: String) throws -> LearnedQueryRecord? {
        try session.one("SELECT * FROM learned_query WHERE model = \(model) AND word = \(word)").map(query)
    }

    private static func query(_ row: PostgresRandomAccessRow) throws -> LearnedQueryRecord {
        LearnedQueryRecord(model: try row.get("model"), word: try row.get("word"), backbone: try row.get("backbone"),
                           vector: floats(try row.get("vector")), exampleImageID: try row.get("example_image_id"),
                           rounds: try row.get("rounds"), relevant: try row.get("relevant"), notRelevant: try row.get("not_relevant"),
                           updatedAt: Date(timeIntervalSince1970: try row.get("updated_at")))
    }

    private static func save(_ session: Session, _ query: LearnedQueryRecord) throws {
        try session.query("""
            INSERT INTO learned_query (model, word, backbone, vector, example_image_id, rounds, relevant, not_relevant, updated_at)
            VALUES (\(query.model), \(query.word), \(query.backbone), \(blob(query.vector)), \(query.exampleImageID), \(query.rounds),
                    \(query.relevant), \(query.notRelevant), \(query.updatedAt.timeIntervalSince1970))
            ON CONFLICT (model, word) DO UPDATE SET backbone = EXCLUDED.backbone, vector = EXCLUDED.vector,
            example_image_id = EXCLUDED.example_image_id, rounds = EXCLUDED.rounds, relevant = EXCLUDED.relevant,
            not_relevant = EXCLUDED.not_relevant, updated_at = EXCLUDED.updated_at
            """)
    }
}
