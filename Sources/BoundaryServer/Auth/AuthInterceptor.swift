import Foundation
import GRPCCore
import Logging

/// Decides whether a bearer token may call a method: the one check behind the gRPC interceptor and
/// the HTTP API's middleware, so both APIs accept the same tokens and answer with the same words.
/// Rejections name what the client must change, but never echo the presented token or reveal
/// which tokens exist.
public struct BearerAuthorizer: Sendable {
    private let tokens: AccessTokens
    private let policy: AuthorizationPolicy
    private let logger: Logger

    public init(tokens: AccessTokens, policy: AuthorizationPolicy, logger: Logger = Logger(label: "boundary.auth")) {
        self.tokens = tokens
        self.policy = policy
        self.logger = logger
    }

    /// Throws the `RPCError` a client should see, or returns who is calling (nil when the method
    /// needs no token). `authorization` holds every value of the request's authorization header.
    @discardableResult
    public func authorize(authorization: [String], method: MethodDescriptor) throws -> Caller? {
        guard case .role(let required) = policy.requirement(for: method) else { return nil }
        guard let token = Self.bearerToken(in: authorization) else {
            throw RPCError(code: .unauthenticated, message: "missing bearer token: send the header 'authorization: Bearer <token>'")
        }
        guard let caller = tokens.caller(forBearer: token) else {
            logger.notice("rejected an invalid bearer token", metadata: ["method": "\(method.fullyQualifiedMethod)"])
            throw RPCError(code: .unauthenticated, message: "invalid bearer token")
        }
        guard caller.roles.contains(required) else {
            throw RPCError(code: .permissionDenied, message: "method \(method.fullyQualifiedMethod) needs the '\(required.rawValue)' role")
        }
        return caller
    }

    /// The token from the first value using the `Bearer` scheme (case-insensitive, per RFC 6750),
    /// or `nil` if there is none.
    static func bearerToken(in values: [String]) -> String? {
        for value in values {
            let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { continue }
            let token = parts[1].trimmingCharacters(in: .whitespaces)
            if !token.isEmpty { return token }
        }
        return nil
    }
}

/// Enforces ``AuthorizationPolicy`` using `authorization: Bearer <token>` request metadata. Runs
/// before any handler, so handlers stay free of auth code.
public struct AuthInterceptor: ServerInterceptor {
    private let authorizer: BearerAuthorizer

    public init(tokens: AccessTokens, policy: AuthorizationPolicy, logger: Logger = Logger(label: "boundary.auth")) {
        authorizer = BearerAuthorizer(tokens: tokens, policy: policy, logger: logger)
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

    @discardableResult
    func authorize(metadata: Metadata, method: MethodDescriptor) throws -> Caller? {
        try authorizer.authorize(authorization: Array(metadata[stringValues: "authorization"]), method: method)
    }

    static func bearerToken(in metadata: Metadata) -> String? {
        BearerAuthorizer.bearerToken(in: Array(metadata[stringValues: "authorization"]))
    }
}
