import Dispatch
import Foundation
import GRDB
import Logging
import Synchronization

/// The embedded feedback store: one SQLite file in WAL mode with `synchronous=FULL`, so a commit
/// is on disk (fsynced) before `record` returns. Readers never block the writer.
///
/// Checkpoints (copying committed WAL pages into the database file) run on a connection of their
/// own in the background once enough has been written, instead of inside whichever commit crossed
/// SQLite's threshold: image bytes make commits large, and a checkpoint inside one doubled the
/// time a submitter waited. (GRDB's reader connections are read-only and cannot checkpoint.)
/// SQLite's own autocheckpoint stays on, at a higher threshold, as the backstop.
public final class SQLiteFeedbackStore: FeedbackStore {
    let pool: DatabasePool
    let path: String
    private let checkpointer: DatabaseQueue
    private let logger: Logger
    private let checkpointQueue = DispatchQueue(label: "boundary-feedback-checkpoint")
    private let checkpointState = Mutex<(running: Bool, written: Int)>((false, 0))
    /// Bytes committed between background checkpoints.
    static let checkpointBytes = 8 << 20
    /// SQLite's autocheckpoint, in pages: only reached if background checkpoints fall behind.
    static let backstopPages = 16384
    /// The writer connection's page cache (SQLite's default is 2 MiB).
    static let writerCacheKiB = 65536

    /// Opens (creating and migrating if needed) the store at `path`, and returns samples a killed
    /// retrain left in `training` to pending.
    public init(path: String, logger: Logger = Logger(label: "boundary.feedback-store")) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.backstopPages)")
        }
        self.path = path
        pool = try DatabasePool(path: path, configuration: configuration)
        // Not in prepareDatabase: GRDB switches the writer to WAL *after* it, and sets
        // `synchronous = NORMAL` as it does (a commit then is not fsynced: power loss could drop
        // acknowledged feedback). FULL syncs the WAL before every commit returns.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // The writer's index pages stay in memory instead of being read back for every insert.
            try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)")
            guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else {
                throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "SQLite refused synchronous=FULL on \(path)")
            }
        }
        try Self.migrator.migrate(pool)
        self.logger = logger
        // FULL here too: the checkpointer must fsync the database before SQLite may reuse the WAL.
        var checkpointing = Configuration()
        checkpointing.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        checkpointer = try DatabaseQueue(path: path, configuration: checkpointing)
        _ = try resetInterruptedTraining()
    }

    public func storedImages(among imageIDs: [String]) throws -> Set<String> {
        guard !imageIDs.isEmpty else { return [] }
        return try pool.read { db in
            var found = Set<String>()
            for chunk in Self.chunks(imageIDs) {
                found.formUnion(try String.fetchAll(db, sql: """
                    SELECT id FROM image WHERE purgedAt IS NULL AND id IN (\(Self.placeholders(chunk.count)))
                    """, arguments: StatementArguments(chunk)))
            }
            return found
        }
    }

    public func openSampleCounts(model: String, imageIDs: [String]) throws -> [String: Int] {
        guard !imageIDs.isEmpty else { return [:] }
        let open = [SampleState.pending, .training, .heldOut].map(\.rawValue)
        return try pool.read { db in
            var counts: [String: Int] = [:]
            for chunk in Self.chunks(imageIDs) {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT imageID, COUNT(*) AS n FROM sample
                    WHERE model = ? AND imageID IN (\(Self.placeholders(chunk.count))) AND state IN (?, ?, ?)
                    GROUP BY imageID
                    """, arguments: StatementArguments([model] + chunk + open))
                for row in rows { counts[row["imageID"]] = row["n"] }
            }
            return counts
        }
    }

    public func imageBytes(_ imageID: String) throws -> Data? {
        try pool.read { db in
            try Data.fetchOne(db, sql: "SELECT bytes FROM image WHERE id = ? AND purgedAt IS NULL", arguments: [imageID])
        }
    }

    public func queue(model: String) throws -> QueueSummary {
        try pool.read { db in
            var summary = QueueSummary()
            summary.events = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event WHERE model = ?", arguments: [model]) ?? 0
            for row in try Row.fetchAll(db, sql: """
                SELECT state, COALESCE(reason, '') AS reason, COUNT(*) AS n FROM sample WHERE model = ? GROUP BY state, reason
                """, arguments: [model]) {
                let count: Int = row["n"]
                summary.total += count
                guard let state = SampleState(rawValue: row["state"]) else { continue }
                summary.byState[state, default: 0] += count
                if state == .unusable { summary.unusableReasons[row["reason"], default: 0] += count }
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT label, kind, COUNT(*) AS n FROM sample WHERE model = ? AND state = 'pending' GROUP BY label, kind
                """, arguments: [model]) {
                let count: Int = row["n"]
                var counts = summary.byLabel[row["label"]] ?? QueueSummary.Counts()
                switch SampleKind(rawValue: row["kind"]) {
                case .positive: counts.positive += count
                case .negative: counts.negative += count
                case .correction: counts.corrected += count
                case nil: continue
                }
                summary.byLabel[row["label"]] = counts
            }
            let stored = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM image WHERE purgedAt IS NULL")
            summary.storedImages = stored?["n"] ?? 0
            summary.imageBytes = stored?["bytes"] ?? 0
            // A file not there (no WAL yet) counts as empty.
            summary.databaseBytes = ["", "-wal"].reduce(0) { total, suffix in
                total + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0)
            }
            return summary
        }
    }

    public func samples(model: String, in states: Set<SampleState>) throws -> [StoredSample] {
        guard !states.isEmpty else { return [] }
        return try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT sample.id, sample.eventID, event.userID, sample.imageID, sample.kind, sample.label, sample.state, sample.released,
                EXISTS (SELECT 1 FROM sample AS trained WHERE trained.eventID = sample.eventID AND trained.state = 'consumed') AS vetted
                FROM sample JOIN event ON event.id = sample.eventID
                WHERE sample.model = ? AND sample.state IN (\(Self.placeholders(states.count))) ORDER BY sample.id
                """, arguments: StatementArguments([model] + states.map(\.rawValue))).map { row in
                // The schema only ever stores the enums' raw values; a row that does not parse is corrupt.
                guard let kind = SampleKind(rawValue: row["kind"]), let state = SampleState(rawValue: row["state"]) else {
                    throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "sample \(row["id"] as Int64) has an unknown kind or state")
                }
                return StoredSample(id: row["id"], eventID: row["eventID"], userID: row["userID"],
                                    sample: FeedbackSample(imageID: row["imageID"], kind: kind, label: row["label"]),
                                    state: state, released: row["released"], vetted: row["vetted"])
            }
        }
    }

    /// Counts bytes committed and starts a background checkpoint once `checkpointBytes` piled up.
    func committed(bytes: Int) {
        let start = checkpointState.withLock { state -> Bool in
            state.written += bytes
            guard !state.running, state.written >= Self.checkpointBytes else { return false }
            state = (true, 0)
            return true
        }
        guard start else { return }
        checkpointQueue.async { [self] in
            defer { checkpointState.withLock { $0.running = false } }
            do {
                // PASSIVE never waits for the writer or readers.
                try checkpointer.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
            } catch {
                // Nothing is lost: the next one, or SQLite's backstop autocheckpoint, does the work.
                logger.warning("background WAL checkpoint failed", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }

    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ",")
    }

    /// SQLite limits bound parameters per statement; lists are sent in chunks (of 500 values, or
    /// `size` rows).
    static func chunks<T>(_ values: [T], size: Int = 500) -> [[T]] {
        stride(from: 0, to: values.count, by: size).map { Array(values[$0..<min($0 + size, values.count)]) }
    }

    /// Rows per multi-row INSERT: one statement per event's images or samples in practice.
    static let rowsPerStatement = 200

    /// `(?, ?, …), (?, ?, …)…`: `count` rows of `columns` placeholders, for a multi-row INSERT.
    static func rows(_ count: Int, columns: Int) -> String {
        let row = "(" + placeholders(columns) + ")"
        return Array(repeating: row, count: count).joined(separator: ",")
    }

    static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(.iso8601)
    }
}
