import GRPCCore
import Serving

/// Who is making the current call, as the bearer token says: set by ``AuthInterceptor`` for the
/// duration of the handler, `nil` when the method needs no token or auth is off.
public struct Caller: Sendable, Equatable {
    /// The token's name (`NAME=ROLE:TOKEN`), or nil for an anonymous token.
    public var name: String?
    public var roles: Set<Role>

    public init(name: String?, roles: Set<Role>) {
        self.name = name
        self.roles = roles
    }

    @TaskLocal public static var current: Caller?

    /// Whom a piece of feedback is recorded as. A named token speaks for its name: `user_id` may
    /// be left empty or repeat it, and only an admin token may record feedback for someone else
    /// (importing another tool's labels). Anonymous tokens, and a server without tokens, record
    /// whatever `user_id` says, as before names existed.
    public static func feedbackUser(requested: String, caller: Caller?) throws -> String {
        guard let caller, let name = caller.name else { return requested }
        if requested.isEmpty || requested == name || caller.roles.contains(.admin) { return requested.isEmpty ? name : requested }
        throw RPCError(code: .permissionDenied,
                       message: "this token belongs to '\(name)'; user_id \(EchoedValue.quoted(requested)) is someone else: "
                           + "leave user_id empty or send '\(name)' (only an admin token may record feedback for others)")
    }
}
