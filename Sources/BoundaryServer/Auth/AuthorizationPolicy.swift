import GRPCCore

/// Which role each gRPC method needs. Kept apart from the interceptor so the mapping is a plain
/// value that tests and `boundary serve --help` can inspect.
public struct AuthorizationPolicy: Sendable {
    /// What a caller must present to run a method.
    public enum Requirement: Sendable, Hashable {
        /// No token needed: health probes and reflection must work for unauthenticated tooling.
        case open
        case role(Role)
    }

    /// Roles whose methods are served without a token (e.g. `[.predict]` for a public demo).
    public var openRoles: Set<Role>

    /// Rules keyed by `package.Service/Method` or by `package.Service`; a method rule wins over its
    /// service's rule.
    public var rules: [String: Requirement]

    public init(openRoles: Set<Role> = [], rules: [String: Requirement] = AuthorizationPolicy.boundaryRules) {
        self.openRoles = openRoles
        self.rules = rules
    }

    /// The Boundary API's rules. `Models` has per-method rules only, so a method added to it later
    /// falls through to admin until someone decides otherwise.
    public static let boundaryRules: [String: Requirement] = [
        "boundary.v1.Inference": .role(.predict),
        "boundary.v1.Models/ListModels": .role(.predict),
        "boundary.v1.Models/GetModel": .role(.predict),
        "boundary.v1.Models/SetServingVersion": .role(.admin),
        "boundary.v1.Feedback/SubmitFeedback": .role(.feedback),
        "boundary.v1.Feedback/GetQueue": .role(.feedback),
        "boundary.v1.Feedback/Retrain": .role(.admin),
        // Progress of a retrain is what GetQueue's last_retrain already shows reviewers.
        "boundary.v1.Feedback/WatchRetrain": .role(.feedback),
        "boundary.v1.Feedback/ListQuarantine": .role(.admin),
        "boundary.v1.Feedback/ReleaseFeedback": .role(.admin),
        "boundary.v1.Feedback/DiscardFeedback": .role(.admin),
        // Reviewers see every client's recent images: the role that may label them.
        "boundary.v1.Review": .role(.feedback),
        // Search shows every client's images, and marks on a class label are feedback.
        "boundary.v1.Search": .role(.feedback),
        "grpc.health.v1.Health": .open,
        "grpc.reflection.v1.ServerReflection": .open,
        "grpc.reflection.v1alpha.ServerReflection": .open,
    ]

    /// What `method` requires, after applying ``openRoles``. Methods with no rule require `admin`,
    /// failing closed so a forgotten rule can't expose a new endpoint.
    public func requirement(for method: MethodDescriptor) -> Requirement {
        let rule = rules[method.fullyQualifiedMethod]
            ?? rules[method.service.fullyQualifiedService]
            ?? .role(.admin)
        if case .role(let role) = rule, openRoles.contains(role) {
            return .open
        }
        return rule
    }
}
