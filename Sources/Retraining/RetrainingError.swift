import FeedbackStore
import Foundation

/// Feedback the loop refuses, in words a client can act on. The gRPC layer maps each case to one
/// status code.
public enum RetrainingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An idempotency key reused for different content (ALREADY_EXISTS).
    case keyReused(String)
    /// A user past their intake quota (RESOURCE_EXHAUSTED).
    case quotaExceeded(String)
    /// An admin call named events the model does not have (NOT_FOUND).
    case unknownEvents([Int64])

    public var description: String {
        switch self {
        case .keyReused(let message), .quotaExceeded(let message): message
        case .unknownEvents(let ids):
            "no feedback events " + ids.prefix(10).map(String.init).joined(separator: ", ") + " for this model"
        }
    }

    init(_ error: FeedbackStoreError) {
        switch error {
        case .keyReused: self = .keyReused(error.description)
        case .quotaExceeded: self = .quotaExceeded(error.description)
        case .internalInconsistency: self = .unknownEvents([])
        }
    }
}

// The store's types the API layer names, so it need not import the store.
public typealias FeedbackReceipt = FeedbackStoreTypes.Receipt
public typealias QueueSummary = FeedbackStoreTypes.Queue
public typealias SampleState = FeedbackStoreTypes.State
public typealias QuarantinedEvent = FeedbackStoreTypes.Quarantined
public typealias FeedbackSelector = FeedbackStoreTypes.Selector
public typealias UserQuota = FeedbackStoreTypes.Quota
public typealias RetentionLimits = FeedbackStoreTypes.Retention
public typealias RetentionReport = FeedbackStoreTypes.Retained
public typealias EvaluationSplit = FeedbackStoreTypes.Split
