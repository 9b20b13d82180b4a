import Foundation
import GRDB

extension SQLiteFeedbackStore: SearchStore {
    public func saveSearchEntries(_ entries: [SearchEntryRecord]) throws {
        guard !entries.isEmpty else { return }
        try pool.write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO searchEntry (model, imageID, backbone, version, label, margin, boundary, seenAt, vector)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for entry in entries {
                try insert.execute(arguments: [entry.model, entry.imageID, entry.backbone, entry.version, entry.label,
                                               Double(entry.margin), entry.isBoundary, entry.seenAt.timeIntervalSince1970,
                                               Self.blob(entry.vector)])
            }
        }
    }

    public func searchEntries(model: String) throws -> [SearchEntryRecord] {
        try searchEntries(model: model, seenSince: .distantPast)
    }

    public func searchEntries(model: String, seenSince since: Date) throws -> [SearchEntryRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM searchEntry WHERE model = ? AND seenAt >= ? ORDER BY seenAt, imageID",
                             arguments: [model, since.timeIntervalSince1970]).map { row in
                SearchEntryRecord(model: row["model"], imageID: row["imageID"], backbone: row["backbone"], version: row["version"],
                                  label: row["label"], margin: Float(row["margin"] as Double), isBoundary: row["boundary"],
                                  seenAt: Date(timeIntervalSince1970: row["seenAt"]), vector: Self.floats(row["vector"]))
            }
        }
    }

    public func searchModels() throws -> Set<String> {
        try pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT model FROM searchEntry UNION SELECT DISTINCT model FROM learnedQuery"))
        }
    }

    public func deleteSearchEntries(model: String, imageIDs: [String]) throws {
        guard !imageIDs.isEmpty else { return }
        try pool.write { db in try Self.deleteEntries(db, model: model, imageIDs: imageIDs) }
    }

    public func trimSearchEntries(model: String, maxEntries: Int, seenBefore cutoff: Date) throws -> [String] {
        try pool.write { db in
            var removed = try String.fetchAll(db, sql: "SELECT imageID FROM searchEntry WHERE model = ? AND seenAt < ?",
                                              arguments: [model, cutoff.timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM searchEntry WHERE model = ? AND seenAt < ?", arguments: [model, cutoff.timeIntervalSince1970])
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM searchEntry WHERE model = ?", arguments: [model]) ?? 0
            if count > maxEntries {
                let oldest = try String.fetchAll(db, sql: "SELECT imageID FROM searchEntry WHERE model = ? ORDER BY seenAt, imageID LIMIT ?",
                                                 arguments: [model, count - maxEntries])
                try Self.deleteEntries(db, model: model, imageIDs: oldest)
                removed += oldest
            }
            return removed
        }
    }

    public func searchIndexBackbone(model: String) throws -> Int? {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT backbone FROM searchIndexBackbone WHERE model = ?", arguments: [model]) }
    }

    public func setSearchIndexBackbone(model: String, backbone: Int) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO searchIndexBackbone (model, backbone, rebuiltAt) VALUES (?, ?, ?)",
                           arguments: [model, backbone, Date().timeIntervalSince1970])
        }
    }

    public func learnedQueries(model: String) throws -> [LearnedQueryRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM learnedQuery WHERE model = ? ORDER BY word", arguments: [model]).map(Self.query)
        }
    }

    public func learnedQuery(model: String, word: String) throws -> LearnedQueryRecord? {
        try pool.read { db in try Self.query(db, model: model, word: word) }
    }

    public func saveLearnedQuery(_ query: LearnedQueryRecord) throws {
        try pool.write { db in try Self.save(db, query) }
    }

    public func deleteLearnedQuery(model: String, word: String) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM learnedQuery WHERE model = ? AND word = ?", arguments: [model, word])
            let existed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM searchMark WHERE model = ? AND word = ?", arguments: [model, word])
            // Its keys go too: the same key may start the word again.
            try db.execute(sql: "DELETE FROM searchMarkKey WHERE model = ? AND word = ?", arguments: [model, word])
            return existed
        }
    }

    public func searchMarks(model: String, word: String) throws -> [SearchMark] {
        try pool.read { db in try Self.marks(db, model: model, word: word) }
    }

    private static func marks(_ db: Database, model: String, word: String) throws -> [SearchMark] {
        try Row.fetchAll(db, sql: "SELECT imageID, relevant FROM searchMark WHERE model = ? AND word = ? ORDER BY imageID",
                         arguments: [model, word]).map { SearchMark(imageID: $0["imageID"], relevant: $0["relevant"]) }
    }

    public func recordMarks(model: String, word: String, idempotencyKey: String, contentHash: String, marks: [SearchMark],
                            update: (LearnedQueryRecord?, [SearchMark]) throws -> LearnedQueryRecord?) throws -> MarkOutcome {
        try pool.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT word, contentHash FROM searchMarkKey WHERE model = ? AND idempotencyKey = ?",
                                          arguments: [model, idempotencyKey]) {
                guard row["word"] == word, row["contentHash"] == contentHash else {
                    throw FeedbackStoreError.keyReused(key: idempotencyKey, eventID: 0)
                }
                return MarkOutcome(query: try Self.query(db, model: model, word: word), replayed: true)
            }
            let now = Date().timeIntervalSince1970
            try db.execute(sql: "INSERT INTO searchMarkKey (model, word, idempotencyKey, contentHash, createdAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [model, word, idempotencyKey, contentHash, now])
            let mark = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO searchMark (model, word, imageID, relevant, markedAt) VALUES (?, ?, ?, ?, ?)
                """)
            for entry in marks { try mark.execute(arguments: [model, word, entry.imageID, entry.relevant, now]) }
            let updated = try update(try Self.query(db, model: model, word: word), try Self.marks(db, model: model, word: word))
            if let updated { try Self.save(db, updated) }
            return MarkOutcome(query: updated, replayed: false)
        }
    }

    private static func deleteEntries(_ db: Database, model: String, imageIDs: [String]) throws {
        for chunk in chunks(imageIDs) {
            var values: [any DatabaseValueConvertible] = [model]
            values += chunk.map { $0 as any DatabaseValueConvertible }
            try db.execute(sql: "DELETE FROM searchEntry WHERE model = ? AND imageID IN (\(placeholders(chunk.count)))",
                           arguments: StatementArguments(values))
        }
    }

    private static func query(_ db: Database, model: String, word: String) throws -> LearnedQueryRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM learnedQuery WHERE model = ? AND word = ?", arguments: [model, word]).map(query)
    }

    private static func query(_ row: Row) -> LearnedQueryRecord {
        LearnedQueryRecord(model: row["model"], word: row["word"], backbone: row["backbone"], vector: floats(row["vector"]),
                           exampleImageID: row["exampleImageID"], rounds: row["rounds"], relevant: row["relevant"], notRelevant: row["notRelevant"],
                           updatedAt: Date(timeIntervalSince1970: row["updatedAt"]))
    }

    private static func save(_ db: Database, _ query: LearnedQueryRecord) throws {
        try db.execute(sql: """
            INSERT OR REPLACE INTO learnedQuery (model, word, backbone, vector, exampleImageID, rounds, relevant, notRelevant, updatedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [query.model, query.word, query.backbone, blob(query.vector), query.exampleImageID, query.rounds, query.relevant,
                             query.notRelevant, query.updatedAt.timeIntervalSince1970])
    }

    static func blob(_ vector: [Float]) -> Data { vector.withUnsafeBufferPointer { Data(buffer: $0) } }
    static func floats(_ data: Data) -> [Float] { data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
}
