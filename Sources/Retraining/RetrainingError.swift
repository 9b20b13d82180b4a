import FeedbackStore
import Foundation

/// Feedback the loop refuses, in words a client can act on. The gRPC layer maps each case to one
/// status code.
public enum RetrainingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An idempotency key reused for different content (ALREADY_EXISTS).
    case keyReused(String)
    /// A user past their intake quota (RESOURCE_EXHAUSTED).
    case quotaExceeded(String)
    /// Images named by id are gone (NOT_FOUND: send the bytes).
    case imagesGone(String)
    /// The store failed (INTERNAL: the server log has it; the client is told to retry).
    case storage(String)

    public var description: String {
        switch self {
        case .keyReused(let message), .quotaExceeded(let message), .imagesGone(let message): message
        case .storage: "the feedback store failed; nothing was stored, retry later"
        }
    }

    init(_ error: FeedbackStoreError) {
        switch error {
        case .keyReused: self = .keyReused(error.description)
        case .quotaExceeded: self = .quotaExceeded(error.description)
        case .imagesGone: self = .imagesGone(error.description)
        case .internalInconsistency: self = .storage(error.description)
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
