import BoundaryAPI
import BoundaryServer
import GRPCCore
import GRPCInProcessTransport

/// Runs `body` against a fresh in-process server hosting `services`, so every test exercises the
/// real gRPC stack (routing, interceptors, status mapping) without sockets.
func withInProcessServer<Result: Sendable>(
    services: [any RegistrableRPCService],
    interceptors: [any ServerInterceptor] = [],
    _ body: (GRPCClient<InProcessTransport.Client>) async throws -> Result
) async throws -> Result {
    let transport = InProcessTransport()
    return try await withGRPCServer(
        transport: transport.server,
        services: services,
        interceptors: interceptors
    ) { _ in
        try await withGRPCClient(transport: transport.client) { client in
            try await body(client)
        }
    }
}

/// A stand-in `Models` service: answers every method with a `ModelInfo` naming the method, and
/// optionally holds `GetModel` for `delay` so tests can have an RPC in flight.
struct FakeModels: Boundary_V1_Models.SimpleServiceProtocol {
    var delay: Duration = .zero
    /// Yields once each time `GetModel` starts, before the delay.
    var started: AsyncStream<Void>.Continuation?

    func listModels(
        request: Boundary_V1_ListModelsRequest,
        context: ServerContext
    ) async throws -> Boundary_V1_ListModelsResponse {
        .with { $0.models = [.with { $0.name = "ListModels" }] }
    }

    func getModel(request: Boundary_V1_GetModelRequest, context: ServerContext) async throws -> Boundary_V1_ModelInfo {
        started?.yield()
        try await Task.sleep(for: delay)
        return .with { $0.name = "GetModel:\(request.model)" }
    }

    func setServingVersion(
        request: Boundary_V1_SetServingVersionRequest,
        context: ServerContext
    ) async throws -> Boundary_V1_ModelInfo {
        .with { $0.name = "SetServingVersion" }
    }
}
