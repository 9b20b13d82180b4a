import GRPCCore

/// The gRPC method each HTTP operation stands for: the authorization policy is keyed by gRPC
/// method, so both APIs need the same role for the same action, and a log line or metric names
/// one action whichever API carried it.
enum OperationMethods {
    static let byOperation: [String: MethodDescriptor] = [
        "predict": method("boundary.v1.Inference", "Predict"),
        "addImages": method("boundary.v1.Inference", "Predict"),
        "explain": method("boundary.v1.Inference", "Explain"),
        "explainImage": method("boundary.v1.Inference", "Explain"),
        "listModels": method("boundary.v1.Models", "ListModels"),
        "getModel": method("boundary.v1.Models", "GetModel"),
        "setServingVersion": method("boundary.v1.Models", "SetServingVersion"),
        "listCandidates": method("boundary.v1.Review", "ListCandidates"),
        "getThumbnail": method("boundary.v1.Review", "GetThumbnail"),
        "submitFeedback": method("boundary.v1.Feedback", "SubmitFeedback"),
        "getQueue": method("boundary.v1.Feedback", "GetQueue"),
        "watchQueue": method("boundary.v1.Feedback", "GetQueue"),
        "startRetrain": method("boundary.v1.Feedback", "Retrain"),
        "getRetrain": method("boundary.v1.Feedback", "WatchRetrain"),
        "watchRetrain": method("boundary.v1.Feedback", "WatchRetrain"),
        "listQuarantine": method("boundary.v1.Feedback", "ListQuarantine"),
        "releaseFeedback": method("boundary.v1.Feedback", "ReleaseFeedback"),
        "discardFeedback": method("boundary.v1.Feedback", "DiscardFeedback"),
        "findSimilar": method("boundary.v1.Search", "FindSimilar"),
        "findSimilarToUpload": method("boundary.v1.Search", "FindSimilar"),
        "search": method("boundary.v1.Search", "Search"),
        "markResults": method("boundary.v1.Search", "MarkResults"),
        "listQueries": method("boundary.v1.Search", "ListQueries"),
        "deleteQuery": method("boundary.v1.Search", "DeleteQuery"),
    ]

    /// The method for `operationID`; an operation missing from the table counts as an unknown
    /// method, which the policy gives to admins only (failing closed).
    static func method(for operationID: String) -> MethodDescriptor {
        byOperation[operationID] ?? method("boundary.v1.HTTP", operationID)
    }

    private static func method(_ service: String, _ name: String) -> MethodDescriptor {
        MethodDescriptor(fullyQualifiedService: service, method: name)
    }
}
