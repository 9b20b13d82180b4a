import BoundaryAPI
import BoundaryClient
import BoundaryServer
import GRPCCore
import GRPCNIOTransportHTTP2

/// Retrain and WatchRetrain from a serving-only replica to the trainer at `host:port`, over
/// HTTP/2 with the replica's own token (`--trainer-token`). One connection per call: retrains
/// are rare, and a connection kept open would only go stale while the trainer restarts.
struct TrainerForwarder: RetrainForwarder {
    let host: String
    let port: Int
    let token: String?

    func retrain(_ request: Boundary_V1_RetrainRequest,
                 each: @escaping @Sendable (Boundary_V1_RetrainProgress) async throws -> Void) async throws {
        try await withTrainer { client in
            try await client.forward(request, each: each)
        }
    }

    func watchRetrain(_ request: Boundary_V1_WatchRetrainRequest,
                      each: @escaping @Sendable (Boundary_V1_RetrainProgress) async throws -> Void) async throws {
        try await withTrainer { client in
            try await client.forward(request, each: each)
        }
    }

    private func withTrainer(_ body: (BoundaryClient<HTTP2ClientTransport.Posix>) async throws -> Void) async throws {
        let transport = try HTTP2ClientTransport.Posix(target: .dns(host: host, port: port), transportSecurity: .plaintext)
        try await withGRPCClient(transport: transport) { client in
            try await body(BoundaryClient(wrapping: client, token: token))
        }
    }
}
