import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// A small blocking pool of PostgreSQL connections for the store's synchronous protocol. The
/// store's callers already run on their own threads (the intake's writer, retrain and upkeep
/// workers, bounded pools), never on an event loop, so each call waits on a future that the
/// pool's own event loop completes. A connection that failed is closed and replaced, never
/// handed out again.
final class PostgresConnections: Sendable {
    let location: PostgresLocation
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let state = Mutex<(idle: [PostgresConnection], open: Int, closed: Bool)>(([], 0, false))
    private let returned = DispatchSemaphore(value: 0)
    private let nextID = Atomic<Int>(0)

    init(location: PostgresLocation, logger: Logger) {
        self.location = location
        self.logger = logger
        // One event loop does the I/O of every connection: the work is the server's.
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Runs `body` on a connection of the pool, waiting for one when all are busy.
    @discardableResult
    func withConnection<T>(_ body: (Session) throws -> T) throws -> T {
        let connection = try checkOut()
        do {
            let result = try body(Session(connection: connection, logger: logger))
            checkIn(connection, healthy: true)
            return result
        } catch {
            // A server error inside a healthy connection leaves it usable; a broken one goes.
            checkIn(connection, healthy: !connection.isClosed)
            throw error
        }
    }

    /// Runs `body` in one transaction: committed when it returns (the commit is on disk before
    /// this returns: `synchronous_commit` is on for every session), rolled back when it throws.
    /// A deadlock between two processes (PostgreSQL aborts one of them) is retried: the body
    /// only touches the database, so running it again is safe.
    @discardableResult
    func transaction<T>(_ body: (Session) throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try transactionOnce(body)
            } catch PostgresStoreError.server(let state, _) where Self.retryable.contains(state) && attempt < 4 {
                attempt += 1
            }
        }
    }

    /// deadlock_detected, serialization_failure.
    private static let retryable: Set<String> = ["40P01", "40001"]

    private func transactionOnce<T>(_ body: (Session) throws -> T) throws -> T {
        try withConnection { session in
            // The advisory locks rely on each statement seeing what the lock's previous holder
            // committed: READ COMMITTED, whatever the database's default.
            try session.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            do {
                let result = try body(session)
                try session.execute("COMMIT")
                return result
            } catch {
                if !session.connection.isClosed {
                    do { try session.execute("ROLLBACK") } catch {
                        // Still inside the failed transaction: never hand this connection out again.
                        let _: EventLoopFuture<Void> = session.connection.close()
                    }
                }
                throw error
            }
        }
    }

    func shutdown() {
        let connections = state.withLock { state -> [PostgresConnection] in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for connection in connections { _ = try? connection.close().wait() }
        try? group.syncShutdownGracefully()
    }

    private func checkOut() throws -> PostgresConnection {
        while true {
            enum Next { case use(PostgresConnection), open, wait }
            let next = try state.withLock { state -> Next in
                guard !state.closed else { throw PostgresStoreError.unreachable(location: "\(location)", reason: "the store is closed") }
                if let connection = state.idle.popLast() { return .use(connection) }
                if state.open < location.poolSize {
                    state.open += 1
                    return .open
                }
                return .wait
            }
            switch next {
            case .use(let connection) where !connection.isClosed: return connection
            case .use: state.withLock { $0.open -= 1 }
            case .open:
                do { return try connect() } catch {
                    state.withLock { $0.open -= 1 }
                    returned.signal()
                    throw error
                }
            case .wait: returned.wait()
            }
        }
    }

    private func checkIn(_ connection: PostgresConnection, healthy: Bool) {
        let keep = state.withLock { state -> Bool in
            if healthy && !state.closed { state.idle.append(connection) } else { state.open -= 1 }
            return healthy && !state.closed
        }
        if !keep { let _: EventLoopFuture<Void> = connection.close() }
        returned.signal()
    }

    /// Opens a connection and sets what every session of the store relies on.
    private func connect() throws -> PostgresConnection {
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(on: group.next(), configuration: try location.configuration(),
                                                        id: nextID.wrappingAdd(1, ordering: .relaxed).newValue, logger: logger).wait()
        } catch {
            throw PostgresStoreError.unreachable(location: "\(location)", reason: "\(PostgresStoreError.wrapping(error))")
        }
        let session = Session(connection: connection, logger: logger)
        do {
            // The reply to a submission goes out after its commit is flushed, whatever the
            // server's default; and a session stuck inside a transaction is ended by the server
            // instead of holding back vacuum.
            try session.execute("SET synchronous_commit = on")
            try session.execute("SET idle_in_transaction_session_timeout = '60s'")
            try session.execute("SET application_name = 'boundary'")
        } catch {
            _ = try? connection.close().wait()
            throw error
        }
        return connection
    }
}

/// One connection checked out of the pool: blocking queries with our errors.
struct Session {
    let connection: PostgresConnection
    let logger: Logger

    @discardableResult
    func query(_ query: PostgresQuery) throws -> PostgresQueryResult {
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            throw PostgresStoreError.wrapping(error)
        }
    }

    func execute(_ sql: String) throws {
        try query(PostgresQuery(unsafeSQL: sql))
    }

    /// Rows as random-access rows (columns by name).
    func rows(_ query: PostgresQuery) throws -> [PostgresRandomAccessRow] {
        try self.query(query).rows.map { $0.makeRandomAccess() }
    }

    /// Rows of a statement without binds (tests and fixed statements).
    func rows(sql: String) throws -> [PostgresRandomAccessRow] {
        try rows(PostgresQuery(unsafeSQL: sql))
    }

    func one(_ query: PostgresQuery) throws -> PostgresRandomAccessRow? {
        try rows(query).first
    }

    /// The first column of the first row.
    func scalar<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) throws -> T? {
        guard let row = try self.query(query).rows.first, let cell = row.first(where: { _ in true }) else { return nil }
        return try decode(cell, as: type)
    }

    /// Rows affected by an INSERT, UPDATE or DELETE.
    func changes(_ query: PostgresQuery) throws -> Int {
        try self.query(query).metadata.rows ?? 0
    }
}

func decode<T: PostgresDecodable>(_ cell: PostgresCell, as type: T.Type = T.self) throws -> T {
    do { return try cell.decode(T.self) } catch {
        throw PostgresStoreError.corrupt("column \(cell.columnName) does not decode as \(T.self)")
    }
}

extension PostgresRandomAccessRow {
    /// The column `name` as `T`; a type mismatch is reported by column.
    func get<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try decode(self[name], as: type)
    }
}

/// Multi-row statements: `($1, $2, $3), ($4, $5, $6)…` for `rows` rows of `columns` binds.
func valueRows(_ rows: Int, columns: Int) -> String {
    (0..<rows).map { row in "(" + (1...columns).map { "$\(row * columns + $0)" }.joined(separator: ", ") + ")" }
        .joined(separator: ", ")
}

/// Splits `values` into chunks of `size` (bind parameters per statement are limited).
func chunks<T>(_ values: [T], size: Int = 200) -> [[T]] {
    stride(from: 0, to: values.count, by: size).map { Array(values[$0..<min($0 + size, values.count)]) }
}

func blob(_ vector: [Float]) -> Data { vector.withUnsafeBufferPointer { Data(buffer: $0) } }
func floats(_ data: Data) -> [Float] { data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
