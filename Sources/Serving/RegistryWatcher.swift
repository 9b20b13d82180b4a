import Logging
import ServiceLifecycle

/// Polls the registry and swaps in what changed: a version registered by `boundary train
/// --register` (which moves the serving pointer), a pointer moved by hand or by another replica.
/// Polling a few small files every couple of seconds is cheap and works on every filesystem,
/// including network mounts where inotify does not.
public struct RegistryWatcher: Service {
    let host: ModelHost
    let interval: Duration
    let logger: Logger

    public init(host: ModelHost, interval: Duration = .seconds(2), logger: Logger) {
        self.host = host
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            await host.synchronize()
        }
    }
}

/// Owns the serving runtime's threads for the life of the service group: on graceful shutdown it
/// stops the decode workers, the batcher and the loader once their queued work is done. Put it in
/// the group before the gRPC server so it shuts down after the server has drained its RPCs.
public struct ServingRuntimeService: Service {
    let predictor: Predictor
    /// Other runtime pieces to stop after the predictor (e.g. the feedback intake's threads).
    let alsoStopping: @Sendable () -> Void

    public init(predictor: Predictor, alsoStopping: @escaping @Sendable () -> Void = {}) {
        self.predictor = predictor
        self.alsoStopping = alsoStopping
    }

    public func run() async throws {
        try? await gracefulShutdown()
        predictor.shutdown()
        alsoStopping()
    }
}
