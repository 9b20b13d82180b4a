import Foundation
import ImageSearch
import Retraining
import Serving

/// Request fields → domain values, checked once for every front end (gRPC and HTTP/JSON), so a bad
/// request gets the same message whichever API it came through. Field names in the messages are the
/// wire names both APIs share (snake_case).
public enum RequestValidation {
    /// The numeric knobs of a retrain request as both APIs carry them; 0 means "the default".
    public struct RetrainFields: Sendable {
        public enum Mode: Sendable { case head, full }
        public var model = ""
        public var mode = Mode.head
        public var unfreezeBlocks: UInt32 = 0
        public var epochs: UInt32 = 0
        public var learningRate: Float = 0
        public var boundaryUpsampling: Float = 0
        public var replayRatio: Float = 0
        public var minNewSamples: UInt32 = 0
        public var dryRun = false
        public var tolerance: Float = 0
        public var confidence: Float = 0
        public var minEvaluationPerClass: UInt32 = 0

        public init() {}
    }

    public static func retrainOptions(_ request: RetrainFields) throws -> RetrainOptions {
        guard request.learningRate >= 0, request.boundaryUpsampling >= 0, request.tolerance >= 0 else {
            throw ServingError.invalidArgument("learning_rate, boundary_upsampling and tolerance must not be negative")
        }
        guard request.epochs <= 1000 else { throw ServingError.invalidArgument("epochs must be at most 1000") }
        guard request.confidence == 0 || (request.confidence > 0 && request.confidence < 1) else {
            throw ServingError.invalidArgument("confidence must be between 0 and 1 (exclusive); 0 means 0.9")
        }
        guard request.tolerance <= 1, request.minEvaluationPerClass <= 100_000 else {
            throw ServingError.invalidArgument("tolerance must be at most 1 and min_evaluation_per_class at most 100000")
        }
        let mode: RetrainMode = switch request.mode {
        case .head: .head
        case .full: .full(unfreeze: request.unfreezeBlocks > 0 ? Int(request.unfreezeBlocks) : nil)
        }
        return RetrainOptions(
            model: request.model, mode: mode, epochs: request.epochs > 0 ? Int(request.epochs) : nil,
            learningRate: request.learningRate > 0 ? request.learningRate : nil,
            upsampling: request.boundaryUpsampling > 0 ? request.boundaryUpsampling : 4,
            replayRatio: request.replayRatio == 0 ? 1 : max(0, request.replayRatio),
            minNewSamples: max(1, Int(request.minNewSamples)), dryRun: request.dryRun,
            gate: GatePolicy(tolerance: Double(request.tolerance),
                             confidence: request.confidence > 0 ? Double(request.confidence) : GatePolicy().confidence,
                             minEvaluationPerClass: request.minEvaluationPerClass > 0
                                 ? Int(request.minEvaluationPerClass) : GatePolicy().minEvaluationPerClass))
    }

    /// Which feedback a release or discard names: events, or everything of one user.
    public static func selector(eventIDs: [UInt64], userID: String, anonymousUser: Bool) throws -> FeedbackSelector {
        let byUser = !userID.isEmpty || anonymousUser
        switch (eventIDs.isEmpty, byUser) {
        case (false, false):
            guard eventIDs.allSatisfy({ $0 <= UInt64(Int64.max) }) else {
                throw ServingError.invalidArgument("an event id is out of range")
            }
            return .events(eventIDs.map { Int64($0) })
        case (true, true):
            return .user(userID)
        case (false, true):
            throw ServingError.invalidArgument("select feedback by event_ids or by user_id, not both")
        case (true, false):
            throw ServingError.invalidArgument("select feedback: set event_ids, or user_id (anonymous_user for the empty user)")
        }
    }

    /// The target of a promotion or rollback.
    public static func servingVersion(model: String, version: UInt64) throws -> Int {
        guard !model.isEmpty else {
            throw ServingError.invalidArgument("model is required: name the model whose serving version changes")
        }
        guard version > 0, version <= UInt64(Int.max) else {
            throw ServingError.invalidArgument("version must be a kept version number (1 or more)")
        }
        return Int(version)
    }
}

extension RequestValidation {
    /// A search filter from wire fields (gRPC and HTTP): version 0 and empty times mean "any".
    public static func searchFilter(label: String, boundaryOnly: Bool, version: UInt64, seenAfter: String,
                                    seenBefore: String) throws -> SearchFilter {
        SearchFilter(predictedLabel: label, boundaryOnly: boundaryOnly, version: version == 0 ? nil : Int(clamping: version),
                     seenAfter: try time(seenAfter, field: "seen_after"), seenBefore: try time(seenBefore, field: "seen_before"))
    }

    /// An RFC 3339 time, with or without fractional seconds; empty is nil.
    static func time(_ text: String, field: String) throws -> Date? {
        guard !text.isEmpty else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: text) else {
            throw ServingError.invalidArgument("\(field) '\(text.prefix(64))' is not an RFC 3339 time, e.g. 2026-12-01T09:30:00Z")
        }
        return date
    }
}
