#!/usr/bin/env python3
"""What SQLite itself does with the feedback store's rows: the floor `boundary bench feedback`'s
ingest is compared with (bench/run-ingest-bench runs both on the same machine, one after the other).

The same schema as Sources/FeedbackStore/Migrations.swift after v3 (tables, indexes, the state-count
triggers), WAL with synchronous=FULL and a 64 MiB cache, and the same work per event as
SQLiteFeedbackStore.record: look the key up, insert 10 new images (9,627-byte blobs, ids the hex
SHA-256), the event, the duplicate check by image, 10 samples, the event's counts, the queue depth.
`--batch 1` is one fsynced commit per event (concurrency 1); `--batch 8` is what group commit
forms at concurrency 16. No validation, no Swift, no threads: only SQLite's own cost.

`--redesigns` also measures what a different store could reach at best: image bytes kept outside
the database (empty blobs here, their own write not counted), and in addition no index of samples
by image (no duplicate check).
"""
import argparse, hashlib, os, random, sqlite3, tempfile, time

SCHEMA = """
CREATE TABLE image(id TEXT PRIMARY KEY, bytes BLOB NOT NULL, size INTEGER NOT NULL, createdAt TEXT NOT NULL, purgedAt TEXT);
CREATE TABLE event(id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, idempotencyKey TEXT NOT NULL,
    userID TEXT NOT NULL, label TEXT NOT NULL, createdAt TEXT NOT NULL, accepted INTEGER NOT NULL,
    duplicates INTEGER NOT NULL, contentHash TEXT, verdict TEXT, UNIQUE(model, idempotencyKey));
CREATE TABLE sample(id INTEGER PRIMARY KEY AUTOINCREMENT, eventID INTEGER NOT NULL, model TEXT NOT NULL,
    imageID TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL, createdAt TEXT NOT NULL, consumedByVersion INTEGER,
    state TEXT NOT NULL DEFAULT 'pending', reason TEXT, released BOOLEAN NOT NULL DEFAULT 0);
CREATE INDEX sampleState ON sample(model, state);
CREATE INDEX sampleImage ON sample(model, imageID);
CREATE INDEX eventUser ON event(model, userID, createdAt);
CREATE INDEX sampleEvent ON sample(eventID);
CREATE TABLE sampleCount(model TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(model, state)) WITHOUT ROWID;
CREATE TRIGGER sampleCountInsert AFTER INSERT ON sample BEGIN
    INSERT INTO sampleCount(model, state, n) VALUES (new.model, new.state, 1) ON CONFLICT(model, state) DO UPDATE SET n = n + 1;
END;
"""


def run(events: int, batch: int, directory: str, blobs: bool = True, image_index: bool = True) -> float:
    path = os.path.join(directory, f"floor-{batch}-{blobs}-{image_index}.sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "cache_size=-65536", "wal_autocheckpoint=16384"):
        db.execute(f"PRAGMA {pragma}")
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2
    db.executescript(SCHEMA if image_index else SCHEMA.replace("CREATE INDEX sampleImage ON sample(model, imageID);", ""))
    rng = random.Random(7)
    images = [rng.randbytes(9627) for _ in range(100)]
    start = time.perf_counter()
    for first in range(0, events, batch):
        db.execute("BEGIN IMMEDIATE")
        for e in range(first, min(first + batch, events)):
            db.execute("SAVEPOINT event")
            db.execute("SELECT id FROM event WHERE model = ? AND idempotencyKey = ?", ("m", f"e{e}")).fetchall()
            rows = []
            for slot in range(10):
                data = images[(e * 10 + slot) % 100] + (e * 10 + slot).to_bytes(8, "little")
                rows.append((hashlib.sha256(data).hexdigest(), data if blobs else b""))
            db.execute("INSERT INTO image(id, bytes, size, createdAt) VALUES " + ",".join(["(?,?,?,?)"] * 10)
                       + " ON CONFLICT(id) DO UPDATE SET bytes = excluded.bytes WHERE purgedAt IS NOT NULL",
                       [v for i, d in rows for v in (i, d, len(d), "2026-11-30T00:00:00Z")])
            db.execute("INSERT INTO event(model, idempotencyKey, contentHash, userID, label, createdAt, accepted, duplicates)"
                       " VALUES (?,?,?,?,?,?,0,0)", ("m", f"e{e}", "h", "bench", "cat", "2026-11-30T00:00:00Z"))
            event_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
            if image_index:
                db.execute("SELECT imageID, kind, label FROM sample WHERE model = ? AND state IN ('pending','training',"
                           "'held-out','quarantined','discarded') AND imageID IN (" + ",".join("?" * 10) + ")",
                           ["m"] + [i for i, _ in rows]).fetchall()
            db.execute("INSERT INTO sample(eventID, model, imageID, kind, label, createdAt, state) VALUES "
                       + ",".join(["(?,?,?,?,?,?,?)"] * 10),
                       [v for i, _ in rows for v in (event_id, "m", i, "positive", "cat", "2026-11-30T00:00:00Z", "pending")])
            db.execute("UPDATE event SET accepted = 10, duplicates = 0 WHERE id = ?", (event_id,))
            db.execute("RELEASE event")
        db.execute("SELECT n FROM sampleCount WHERE model = 'm' AND state = 'pending'").fetchone()
        db.execute("COMMIT")
    seconds = time.perf_counter() - start
    db.close()
    return events / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--redesigns", action="store_true", help="also measure stores without image bytes / image index")
    args = parser.parse_args()
    print(f"# SQLite {sqlite3.sqlite_version} (Python {'.'.join(map(str, __import__('sys').version_info[:3]))}), "
          "WAL, synchronous=FULL")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as directory:
        for batch in (1, 8):
            rate = run(args.events, batch, directory)
            print(f"SQLite floor, same rows and indexes, {batch} event(s) per fsynced commit: {rate:.1f} events/s")
        if args.redesigns:
            for blobs, index, name in ((False, True, "image bytes outside"), (False, False, "image bytes outside, no image index")):
                for batch in (1, 8, 16):
                    rate = run(args.events, batch, directory, blobs=blobs, image_index=index)
                    print(f"redesign bound ({name}), {batch} event(s) per fsynced commit: {rate:.1f} events/s")


if __name__ == "__main__":
    main()
