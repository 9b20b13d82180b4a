@testable import FeedbackStore
import Foundation
import GRDB
@testable import PostgresStore

/// The stores one suite runs against, so neither drifts from the protocol's promises.
enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }
}

/// A store under test, how to open it again (a restart), and the few reach-ins behind the
/// protocol that tests need, written once per backend.
struct TestStore {
    let kind: StoreKind
    private(set) var store: any FeedbackStore & SearchStore
    private let sqlitePath: String?
    private let postgres: PostgresLocation?

    static func open(_ kind: StoreKind) throws -> TestStore {
        switch kind {
        case .sqlite:
            let (store, path) = try StoreFixtures.store()
            return TestStore(kind: kind, store: store, sqlitePath: path, postgres: nil)
        case .postgres:
            let location = try TestPostgres.freshDatabase()
            return TestStore(kind: kind, store: try PostgresFeedbackStore(location: location), sqlitePath: nil, postgres: location)
        }
    }

    /// Closes nothing (the old handle may still be referenced) and opens the same data anew, as
    /// a restarted process would.
    mutating func reopen() throws {
        if let sqlitePath { store = try SQLiteFeedbackStore(path: sqlitePath) }
        if let postgres { store = try PostgresFeedbackStore(location: postgres) }
    }

    /// A second process on the same data (PostgreSQL only: SQLite is one process's store).
    func another(resetInterruptedTraining: Bool) throws -> PostgresFeedbackStore {
        guard let postgres else { throw TestFailure("only a PostgreSQL store is shared between processes") }
        return try PostgresFeedbackStore(location: postgres, resetInterruptedTraining: resetInterruptedTraining)
    }

    /// The per-(model, state, label) counts the store keeps, and the same counted from the
    /// samples, as "model/state/label=n" lines.
    func counts() throws -> (kept: [String], counted: [String]) {
        switch store {
        case let store as SQLiteFeedbackStore:
            return try store.pool.read { db in
                func lines(_ sql: String) throws -> [String] {
                    try Row.fetchAll(db, sql: sql).map { "\($0["model"] as String)/\($0["state"] as String)/\($0["label"] as String)=\($0["n"] as Int)" }
                }
                return (try lines("SELECT model, state, label, n FROM sampleCount WHERE n != 0 ORDER BY model, state, label"),
                        try lines("SELECT model, state, label, COUNT(*) AS n FROM sample GROUP BY model, state, label ORDER BY model, state, label"))
            }
        case let store as PostgresFeedbackStore:
            return try store.connections.withConnection { session in
                func lines(_ sql: String) throws -> [String] {
                    try session.rows(sql: sql).map {
                        "\(try $0.get("model", as: String.self))/\(try $0.get("state", as: String.self))/\(try $0.get("label", as: String.self))=\(try $0.get("n", as: Int.self))"
                    }
                }
                return (try lines("SELECT model, state, label, n FROM sample_count WHERE n != 0 ORDER BY model, state, label"),
                        try lines("SELECT model, state, label, COUNT(*) AS n FROM sample GROUP BY model, state, label ORDER BY model, state, label"))
            }
        default:
            throw TestFailure("unknown store \(type(of: store))")
        }
    }

    /// Makes images look stored on 2020-01-01, as the clock would have.
    func backdate(images: [String]) throws {
        switch store {
        case let store as SQLiteFeedbackStore:
            try store.pool.write { db in
                for id in images { try db.execute(sql: "UPDATE image SET createdAt = '2020-01-01T00:00:00Z' WHERE id = ?", arguments: [id]) }
            }
        case let store as PostgresFeedbackStore:
            try store.connections.withConnection { session in
                // Test ids are hex digits: safe to inline.
                let list = images.map { "'\($0)'" }.joined(separator: ",")
                _ = try session.rows(sql: "UPDATE image SET created_at = '2020-01-01T00:00:00Z' WHERE id IN (\(list))")
            }
        default:
            throw TestFailure("unknown store \(type(of: store))")
        }
    }
}
