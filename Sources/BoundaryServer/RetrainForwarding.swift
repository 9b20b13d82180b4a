import BoundaryAPI
import GRPCCore

/// How a serving-only replica (`--role serve`) reaches the deployment's one trainer: Retrain and
/// WatchRetrain sent to any replica run there, and the trainer's progress streams back through
/// the replica unchanged. The replica has already checked the caller's role; the forwarder calls
/// with the replica's own credentials. The executable provides it over HTTP/2 (this module has
/// no transport).
public protocol RetrainForwarder: Sendable {
    func retrain(_ request: Boundary_V1_RetrainRequest,
                 each: @escaping @Sendable (Boundary_V1_RetrainProgress) async throws -> Void) async throws
    func watchRetrain(_ request: Boundary_V1_WatchRetrainRequest,
                      each: @escaping @Sendable (Boundary_V1_RetrainProgress) async throws -> Void) async throws
}
