import ArgumentParser
import Foundation
import Logging
import PostgresStore
import ServiceLifecycle

extension ServeCommand {
    /// The trainer lease a training process on a PostgreSQL store must hold: `--role train` waits
    /// for it (a replacement trainer starts while the old one drains); `--role all` refuses to
    /// start beside another trainer, since two would retrain the same models twice.
    func takeTrainerLease(logger: Logger) throws -> TrainerLease? {
        guard let location = try options.resolvedStore() else { return nil }
        let role = try options.resolvedRole()
        guard role.trains else { return nil }
        guard let lease = try TrainerLease.acquire(location: location, wait: role == .train, logger: logger) else {
            throw ValidationError("another process already trains on \(location); start this one with --role serve, "
                                  + "or stop the other (one process per deployment runs retrains)")
        }
        logger.notice("holding the trainer lease", metadata: ["store": "\(location)", "role": "\(role.rawValue)"])
        return lease
    }
}

/// Ends the process when the trainer lease is lost (its session to PostgreSQL broke): another
/// process may now hold it, and two trainers must never run. An orchestrator restarts this one,
/// which then waits for the lease again.
struct TrainerLeaseWatch: Service {
    let lease: TrainerLease
    let logger: Logger

    struct LeaseLost: Error, CustomStringConvertible {
        var description: String { "lost the trainer lease (the PostgreSQL session ended); stopping so that one trainer runs" }
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(2))
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            guard lease.check() else {
                // At once, not by a graceful shutdown: a retrain in progress would finish first,
                // while another trainer may already hold the lease and claim the same samples.
                logger.critical("\(LeaseLost())")
                exit(75)  // EX_TEMPFAIL: the orchestrator restarts it, and it waits for the lease.
            }
        }
    }
}
