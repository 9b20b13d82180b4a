import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// "Exactly one trainer" for a deployment sharing one PostgreSQL store: a session advisory lock
/// held on a connection of its own for as long as the process trains. PostgreSQL releases it
/// when that session ends, so a trainer that dies (or loses its connection) frees it for the
/// next one, and no two processes hold it at once.
public final class TrainerLease: Sendable {
    private let connection: PostgresConnection
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    static let key = "boundary.trainer"

    private init(connection: PostgresConnection, group: MultiThreadedEventLoopGroup, logger: Logger) {
        self.connection = connection
        self.group = group
        self.logger = logger
    }

    /// Takes the lease. When another process holds it: waits for it (checking each second) if
    /// `wait`, else returns nil at once.
    public static func acquire(location: PostgresLocation, wait: Bool, logger: Logger) throws -> TrainerLease? {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(on: group.next(), configuration: try location.configuration(), id: 0,
                                                        logger: logger).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw PostgresStoreError.unreachable(location: "\(location)", reason: "\(PostgresStoreError.wrapping(error))")
        }
        let lease = TrainerLease(connection: connection, group: group, logger: logger)
        var waited = false
        do {
            while true {
                let taken = try Session(connection: connection, logger: logger)
                    .scalar("SELECT pg_try_advisory_lock(hashtextextended(\(key), 0))", as: Bool.self) ?? false
                if taken { return lease }
                guard wait else {
                    lease.close()
                    return nil
                }
                if !waited {
                    logger.notice("another process holds the trainer lease; waiting for it", metadata: ["store": "\(location)"])
                    waited = true
                }
                Thread.sleep(forTimeInterval: 1)
            }
        } catch {
            lease.close()
            throw error
        }
    }

    /// Whether the lease is still held: its session answers. A lost session means the lock is
    /// gone and another trainer may take it; the holder must stop training.
    public func check() -> Bool {
        guard !connection.isClosed else { return false }
        return (try? Session(connection: connection, logger: logger).scalar("SELECT 1", as: Int.self)) == 1
    }

    /// Gives the lease up (closing the session releases the lock).
    public func close() {
        _ = try? connection.close().wait()
        try? group.syncShutdownGracefully()
    }
}
