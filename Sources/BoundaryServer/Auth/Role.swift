/// What a bearer token may do. Roles are nested so an operator configures one role per token:
/// `admin` ⊃ `feedback` ⊃ `predict`.
public enum Role: String, Sendable, CaseIterable {
    case predict
    case feedback
    case admin

    /// This role plus every role it implies; what a token configured with it is granted.
    public var granted: Set<Role> {
        switch self {
        case .predict: [.predict]
        case .feedback: [.feedback, .predict]
        case .admin: [.admin, .feedback, .predict]
        }
    }
}
