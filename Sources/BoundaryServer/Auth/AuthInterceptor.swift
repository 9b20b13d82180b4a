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
        let caller = try authorize(metadata: request.metadata, method: context.descriptor)
        // Unary handlers run inside `next`, so they see the caller (SubmitFeedback records it).
        return try await Caller.$current.withValue(caller) { try await next(request, context) }
    }

    /// Throws the `RPCError` a client should see, or returns who is calling (nil when the method
    /// needs no token).
    @discardableResult
    func authorize(metadata: Metadata, method: MethodDescriptor) throws -> Caller? {
        guard case .role(let required) = policy.requirement(for: method) else { return nil }
        guard let token = Self.bearerToken(in: metadata) else {
            throw RPCError(
                code: .unauthenticated,
                message: "missing bearer token: send 'authorization: Bearer <token>' metadata"
            )
        }
        guard let caller = tokens.caller(forBearer: token) else {
            logger.notice("rejected an invalid bearer token", metadata: ["method": "\(method.fullyQualifiedMethod)"])
            throw RPCError(code: .unauthenticated, message: "invalid bearer token")
        }
        guard caller.roles.contains(required) else {
            throw RPCError(
                code: .permissionDenied,
                message: "method \(method.fullyQualifiedMethod) needs the '\(required.rawValue)' role"
            )
        }
        return caller
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
