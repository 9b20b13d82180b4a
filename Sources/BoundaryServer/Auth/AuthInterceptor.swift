import Foundation
import GRPCCore
import Logging

/// Enforces ``AuthorizationPolicy`` using `authorization: Bearer <token>` request metadata.
///
/// Runs before any handler, so handlers stay free of auth code. Rejections name what the client
/// must change, but never echo the presented token or reveal which tokens exist.
public struct AuthInterceptor: ServerInterceptor {
    private let tokens: AccessTokens
    private let policy: AuthorizationPolicy
    private let logger: Logger

    public init(tokens: AccessTokens, policy: AuthorizationPolicy, logger: Logger = Logger(label: "boundary.auth")) {
        self.tokens = tokens
        self.policy = policy
        self.logger = logger
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        try authorize(metadata: request.metadata, method: context.descriptor)
        return try await next(request, context)
    }

    /// Throws the `RPCError` a client should see, or returns if the call may proceed.
    func authorize(metadata: Metadata, method: MethodDescriptor) throws {
        guard case .role(let required) = policy.requirement(for: method) else { return }
        guard let token = Self.bearerToken(in: metadata) else {
            throw RPCError(
                code: .unauthenticated,
                message: "missing bearer token: send 'authorization: Bearer <token>' metadata"
            )
        }
        guard let roles = tokens.roles(forBearer: token) else {
            logger.notice("rejected an invalid bearer token", metadata: ["method": "\(method.fullyQualifiedMethod)"])
            throw RPCError(code: .unauthenticated, message: "invalid bearer token")
        }
        guard roles.contains(required) else {
            throw RPCError(
                code: .permissionDenied,
                message: "method \(method.fullyQualifiedMethod) needs the '\(required.rawValue)' role"
            )
        }
    }

    /// The token from the first `authorization` value using the `Bearer` scheme (case-insensitive,
    /// per RFC 6750), or `nil` if there is none.
    static func bearerToken(in metadata: Metadata) -> String? {
        for value in metadata[stringValues: "authorization"] {
            let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { continue }
            let token = parts[1].trimmingCharacters(in: .whitespaces)
            if !token.isEmpty { return token }
        }
        return nil
    }
}
