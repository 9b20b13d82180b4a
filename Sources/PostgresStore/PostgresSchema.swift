import PostgresNIO

/// The PostgreSQL schema, one migration per change, applied in order at open under an advisory
/// lock (replicas starting together migrate once). Never edit a shipped migration: add the next.
/// It holds what the SQLite store's v1–v4 hold, in PostgreSQL's types.
enum PostgresSchema {
    static let migrations: [(name: String, statements: [String])] = [
        ("v1: images, events, samples, counts, embeddings, search", [
            """
            CREATE TABLE image (
                id TEXT PRIMARY KEY, bytes BYTEA NOT NULL, size BIGINT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL, purged_at TIMESTAMPTZ)
            """,
            """
            CREATE INDEX image_created ON image (created_at, id) WHERE purged_at IS NULL
            """,
            // One row per acknowledged submission; the unique key makes retries idempotent across replicas.
            """
            CREATE TABLE event (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, model TEXT NOT NULL, idempotency_key TEXT NOT NULL,
                content_hash TEXT NOT NULL, user_id TEXT NOT NULL, label TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
                accepted BIGINT NOT NULL, duplicates BIGINT NOT NULL, verdict TEXT,
                UNIQUE (model, idempotency_key))
            """,
            """
            CREATE INDEX event_user ON event (model, user_id, created_at)
            """,
            """
            CREATE TABLE sample (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id BIGINT NOT NULL REFERENCES event,
                model TEXT NOT NULL, image_id TEXT NOT NULL REFERENCES image, kind TEXT NOT NULL, label TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL, consumed_by_version BIGINT, state TEXT NOT NULL DEFAULT 'pending',
                reason TEXT, released BOOLEAN NOT NULL DEFAULT false)
            """,
            """
            CREATE INDEX sample_state ON sample (model, state)
            """,
            """
            CREATE INDEX sample_image ON sample (model, image_id)
            """,
            """
            CREATE INDEX sample_event ON sample (event_id)
            """,
            // Samples per (model, state, label), kept by a trigger in the same transaction as every
            // change: queue depth and the held-out cap read one row instead of counting samples.
            """
            CREATE TABLE sample_count (model TEXT NOT NULL, state TEXT NOT NULL, label TEXT NOT NULL, n BIGINT NOT NULL,
                PRIMARY KEY (model, state, label))
            """,
            """
            CREATE FUNCTION sample_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    UPDATE sample_count SET n = n - 1 WHERE model = OLD.model AND state = OLD.state AND label = OLD.label;
                END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') THEN
                    INSERT INTO sample_count (model, state, label, n) VALUES (NEW.model, NEW.state, NEW.label, 1)
                    ON CONFLICT (model, state, label) DO UPDATE SET n = sample_count.n + 1;
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER sample_count_insert_delete AFTER INSERT OR DELETE ON sample
                FOR EACH ROW EXECUTE FUNCTION sample_count_keep()
            """,
            """
            CREATE TRIGGER sample_count_update AFTER UPDATE OF model, state, label ON sample FOR EACH ROW
                WHEN (OLD.model IS DISTINCT FROM NEW.model OR OLD.state IS DISTINCT FROM NEW.state OR OLD.label IS DISTINCT FROM NEW.label)
                EXECUTE FUNCTION sample_count_keep()
            """,
            """
            CREATE TABLE embedding (
                image_id TEXT NOT NULL REFERENCES image, model TEXT NOT NULL, version BIGINT NOT NULL, vector BYTEA NOT NULL,
                PRIMARY KEY (image_id, model, version))
            """,
            """
            CREATE TABLE base_embedding (
                key TEXT NOT NULL, model TEXT NOT NULL, version BIGINT NOT NULL, vector BYTEA NOT NULL,
                PRIMARY KEY (key, model, version))
            """,
            """
            CREATE TABLE search_entry (
                model TEXT NOT NULL, image_id TEXT NOT NULL, backbone BIGINT NOT NULL, version BIGINT NOT NULL, label TEXT NOT NULL,
                margin REAL NOT NULL, boundary BOOLEAN NOT NULL, seen_at DOUBLE PRECISION NOT NULL, vector BYTEA NOT NULL,
                PRIMARY KEY (model, image_id))
            """,
            """
            CREATE INDEX search_entry_seen ON search_entry (model, seen_at, image_id)
            """,
            """
            CREATE TABLE learned_query (
                model TEXT NOT NULL, word TEXT NOT NULL, backbone BIGINT NOT NULL, vector BYTEA NOT NULL, example_image_id TEXT NOT NULL,
                rounds BIGINT NOT NULL, relevant BIGINT NOT NULL, not_relevant BIGINT NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (model, word))
            """,
            """
            CREATE TABLE search_mark (
                model TEXT NOT NULL, word TEXT NOT NULL, image_id TEXT NOT NULL, relevant BOOLEAN NOT NULL,
                marked_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (model, word, image_id))
            """,
            """
            CREATE TABLE search_mark_key (
                model TEXT NOT NULL, word TEXT NOT NULL, idempotency_key TEXT NOT NULL, content_hash TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (model, idempotency_key))
            """,
        ]),
        ("v2: the backbone the search entries were rebuilt for", [
            """
            CREATE TABLE search_index_backbone (model TEXT PRIMARY KEY, backbone BIGINT NOT NULL, rebuilt_at DOUBLE PRECISION NOT NULL)
            """,
        ]),
    ]

    /// Applies the migrations not yet recorded, each in its own transaction, one process at a time.
    static func migrate(_ connections: PostgresConnections) throws {
        try connections.withConnection { session in
            // A session lock (not a transaction one): held across the migrations' transactions.
            try session.execute("SELECT pg_advisory_lock(hashtextextended('boundary.migrate', 0))")
            defer { _ = try? session.execute("SELECT pg_advisory_unlock(hashtextextended('boundary.migrate', 0))") }
            try session.execute("""
                CREATE TABLE IF NOT EXISTS boundary_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """)
            let applied = Set(try session.rows("SELECT name FROM boundary_migration").map { try $0.get("name", as: String.self) })
            for migration in migrations where !applied.contains(migration.name) {
                try session.execute("BEGIN")
                do {
                    for statement in migration.statements { try session.execute(statement) }
                    try session.query("INSERT INTO boundary_migration (name) VALUES (\(migration.name))")
                    try session.execute("COMMIT")
                } catch {
                    _ = try? session.execute("ROLLBACK")
                    throw PostgresStoreError.wrapping(error)
                }
            }
        }
    }
}
