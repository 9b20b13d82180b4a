import ArgumentParser
import BoundaryClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// How the client commands (`predict`, `models`) reach a server.
struct ClientOptions: ParsableArguments {
    @Option(help: "Server address HOST:PORT (env BOUNDARY_SERVER).")
    var server: String = ProcessInfo.processInfo.environment["BOUNDARY_SERVER"] ?? "127.0.0.1:50051"

    @Option(help: "Bearer token (default: env BOUNDARY_TOKEN).")
    var token: String?

    @Flag(help: "Connect with TLS, verifying the server against the system's trust roots.")
    var tls = false

    @Option(help: "PEM file of the CA that signed the server's certificate (implies --tls).")
    var caCert: String?

    @Option(help: "Deadline per call, in seconds.")
    var timeout: Double = 30

    func validate() throws {
        _ = try address()
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func address() throws -> (host: String, port: Int) {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]),
              (1...65535).contains(port), colon != server.startIndex else {
            throw ValidationError("--server must be HOST:PORT, e.g. 127.0.0.1:50051; got '\(server)'")
        }
        return (String(server[..<colon]), port)
    }

    var deadline: Duration { .milliseconds(Int64(timeout * 1000)) }

    /// Runs `body` with a connected client, closing the connection afterwards.
    func withClient<R: Sendable>(_ body: (BoundaryClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
        let (host, port) = try address()
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if let caCert {
            security = .tls { $0.trustRoots = .certificates([.file(path: caCert, format: .pem)]) }
        } else if tls {
            security = .tls
        } else {
            security = .plaintext
        }
        let transport = try HTTP2ClientTransport.Posix(target: .dns(host: host, port: port), transportSecurity: security)
        let bearer = token ?? ProcessInfo.processInfo.environment["BOUNDARY_TOKEN"]
        return try await withGRPCClient(transport: transport) { client in
            try await body(BoundaryClient(wrapping: client, token: bearer))
        }
    }
}

/// Prints an RPC failure the way a person wants to read it: the status and the server's message.
func describe(_ error: any Error) -> String {
    if let error = error as? RPCError { return "\(error.code): \(error.message)" }
    return String(describing: error)
}
