import BoundaryAPI
import GRPCCore
import Serving

/// The standard `grpc.health.v1.Health` service, so Kubernetes probes, Envoy and `grpc-health-probe`
/// can check Boundary without knowing its API. A thin adapter: all state lives in
/// ``HealthStatusBoard``.
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    private let board: HealthStatusBoard

    public init(board: HealthStatusBoard) {
        self.board = board
    }

    public func check(
        request: Grpc_Health_V1_HealthCheckRequest,
        context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = board.status(for: request.service) else {
            let known = board.knownServices.map { "'\($0)'" }.joined(separator: ", ")
            throw RPCError(
                code: .notFound,
                message: "health status for service \(EchoedValue.quoted(request.service)) is unknown; known: \(known)"
            )
        }
        return .with { $0.status = status }
    }

    public func list(
        request: Grpc_Health_V1_HealthListRequest,
        context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthListResponse {
        .with { response in
            response.statuses = board.allStatuses().mapValues { status in .with { $0.status = status } }
        }
    }

    /// Streams the service's status until the client cancels, the server shuts down, or the
    /// board shuts down. Unknown services get `SERVICE_UNKNOWN` and stay open, per the spec, so a
    /// client can watch a service that registers later.
    ///
    /// gRPC signals cancellation (client gone, server stopping) through `context.cancellation`, not
    /// by cancelling this task, so the stream is raced against it in a task group.
    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        let updates = board.watch(request.service)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await status in updates {
                    try await response.write(.with { $0.status = status })
                }
            }
            group.addTask {
                try await context.cancellation.cancelled
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
