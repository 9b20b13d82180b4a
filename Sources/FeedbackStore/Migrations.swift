import GRDB

extension SQLiteFeedbackStore {
    /// The schema, one migration per change, applied in order at open. Never edit a shipped
    /// migration: add the next one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: images, events, samples, embeddings") { db in
            // Images by content hash (hex SHA-256), kept so feedback can refer to them later.
            try db.create(table: "image") { t in
                t.primaryKey("id", .text)
                t.column("bytes", .blob).notNull()
                t.column("size", .integer).notNull()
                t.column("createdAt", .text).notNull()
            }
            // One row per acknowledged SubmitFeedback; the key makes retries idempotent.
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("model", .text).notNull()
                t.column("idempotencyKey", .text).notNull()
                t.column("userID", .text).notNull()
                t.column("label", .text).notNull()
                t.column("createdAt", .text).notNull()
                t.column("accepted", .integer).notNull()
                t.column("duplicates", .integer).notNull()
                t.uniqueKey(["model", "idempotencyKey"])
            }
            // Labelled samples; consumedByVersion records which model version trained on each.
            try db.create(table: "sample") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("eventID", .integer).notNull().references("event")
                t.column("model", .text).notNull()
                t.column("imageID", .text).notNull().references("image")
                t.column("kind", .text).notNull()
                t.column("label", .text).notNull()
                t.column("createdAt", .text).notNull()
                t.column("consumedByVersion", .integer)
            }
            try db.create(index: "samplePending", on: "sample", columns: ["model", "consumedByVersion", "imageID"])
            // Embeddings cached per (image, model version), for head-only retraining.
            try db.create(table: "embedding") { t in
                t.column("imageID", .text).notNull().references("image")
                t.column("model", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("vector", .blob).notNull()
                t.primaryKey(["imageID", "model", "version"])
            }
        }
        migrator.registerMigration("v2: sample states, content digests, quarantine verdicts, base embeddings") { db in
            try db.alter(table: "event") { t in
                t.add(column: "contentHash", .text)  // NULL for events stored before v2: replayed, never refused.
                t.add(column: "verdict", .text)
            }
            try db.alter(table: "sample") { t in
                t.add(column: "state", .text).notNull().defaults(to: SampleState.pending.rawValue)
                t.add(column: "reason", .text)
                t.add(column: "released", .boolean).notNull().defaults(to: false)
            }
            try db.alter(table: "image") { t in t.add(column: "purgedAt", .text) }
            try db.execute(sql: "UPDATE sample SET state = 'consumed' WHERE consumedByVersion IS NOT NULL")
            // Pending samples in the evaluation share were never trained on: they become held-out.
            let open = try Row.fetchAll(db, sql: "SELECT id, imageID FROM sample WHERE state = 'pending'")
            for row in open where EvaluationSplit.isHeldOut(row["imageID"]) {
                try db.execute(sql: "UPDATE sample SET state = 'held-out' WHERE id = ?", arguments: [row["id"] as Int64])
            }
            try db.create(index: "sampleState", on: "sample", columns: ["model", "state"])
            // The duplicate check at intake looks samples up by image. v1's index for its pending
            // query goes: every index with random keys costs page writes on every insert.
            try db.create(index: "sampleImage", on: "sample", columns: ["model", "imageID"])
            try db.drop(index: "samplePending")
            try db.create(index: "eventUser", on: "event", columns: ["model", "userID", "createdAt"])
            try db.create(index: "sampleEvent", on: "sample", columns: ["eventID"])
            // Embeddings of base data (demo or ImageFolder samples), which have no image row.
            try db.create(table: "baseEmbedding") { t in
                t.column("key", .text).notNull()
                t.column("model", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("vector", .blob).notNull()
                t.primaryKey(["key", "model", "version"])
            }
        }
        migrator.registerMigration("v3: sample counts per state and label, kept by triggers") { db in
            // The queue depth every SubmitFeedback reply carries was a COUNT(*) over the pending
            // samples inside the commit, a cost that grew with the queue; the held-out cap needs
            // each label's held-out count at intake. Triggers keep both in the same transaction as
            // every change of a sample's state, whoever makes it.
            try db.execute(sql: """
                CREATE TABLE sampleCount (model TEXT NOT NULL, state TEXT NOT NULL, label TEXT NOT NULL, n INTEGER NOT NULL,
                                          PRIMARY KEY (model, state, label)) WITHOUT ROWID;
                INSERT INTO sampleCount (model, state, label, n)
                    SELECT model, state, label, COUNT(*) FROM sample GROUP BY model, state, label;
                CREATE TRIGGER sampleCountInsert AFTER INSERT ON sample BEGIN
                    INSERT INTO sampleCount (model, state, label, n) VALUES (new.model, new.state, new.label, 1)
                    ON CONFLICT (model, state, label) DO UPDATE SET n = n + 1;
                END;
                CREATE TRIGGER sampleCountDelete AFTER DELETE ON sample BEGIN
                    UPDATE sampleCount SET n = n - 1 WHERE model = old.model AND state = old.state AND label = old.label;
                END;
                CREATE TRIGGER sampleCountUpdate AFTER UPDATE OF model, state, label ON sample
                WHEN old.model IS NOT new.model OR old.state IS NOT new.state OR old.label IS NOT new.label BEGIN
                    UPDATE sampleCount SET n = n - 1 WHERE model = old.model AND state = old.state AND label = old.label;
                    INSERT INTO sampleCount (model, state, label, n) VALUES (new.model, new.state, new.label, 1)
                    ON CONFLICT (model, state, label) DO UPDATE SET n = n + 1;
                END;
                """)
        }
        migrator.registerMigration("v4: search index entries, learned queries and their marks") { db in
            // One row per image the search index holds: a rowid table (the vectors make rows big),
            // unique per (model, image); retention reads it by age.
            try db.execute(sql: """
                CREATE TABLE searchEntry (model TEXT NOT NULL, imageID TEXT NOT NULL, backbone INTEGER NOT NULL,
                                          version INTEGER NOT NULL, label TEXT NOT NULL, margin REAL NOT NULL,
                                          boundary INTEGER NOT NULL, seenAt REAL NOT NULL, vector BLOB NOT NULL,
                                          UNIQUE (model, imageID));
                CREATE INDEX searchEntrySeen ON searchEntry (model, seenAt);
                CREATE TABLE learnedQuery (model TEXT NOT NULL, word TEXT NOT NULL, backbone INTEGER NOT NULL, vector BLOB NOT NULL,
                                           exampleImageID TEXT NOT NULL, rounds INTEGER NOT NULL, relevant INTEGER NOT NULL, notRelevant INTEGER NOT NULL,
                                           updatedAt REAL NOT NULL, PRIMARY KEY (model, word));
                CREATE TABLE searchMark (model TEXT NOT NULL, word TEXT NOT NULL, imageID TEXT NOT NULL, relevant INTEGER NOT NULL,
                                         markedAt REAL NOT NULL, PRIMARY KEY (model, word, imageID));
                CREATE TABLE searchMarkKey (model TEXT NOT NULL, word TEXT NOT NULL, idempotencyKey TEXT NOT NULL,
                                            contentHash TEXT NOT NULL, createdAt REAL NOT NULL, PRIMARY KEY (model, idempotencyKey));
                """)
        }
        migrator.registerMigration("v5: the backbone the search entries were rebuilt for") { db in
            try db.execute(sql: """
                CREATE TABLE searchIndexBackbone (model TEXT PRIMARY KEY NOT NULL, backbone INTEGER NOT NULL, rebuiltAt REAL NOT NULL)
                """)
        }
        return migrator
    }
}
