import BoundaryAPI
import Retraining
import Serving

/// Proto ⇄ domain mapping for GetQueue and the quarantine admin methods.
enum QueueMapping {
    static func status(_ summary: QueueSummary) -> Boundary_V1_QueueStatus {
        var reply = Boundary_V1_QueueStatus()
        func count(_ state: SampleState) -> UInt64 { UInt64(summary.byState[state] ?? 0) }
        reply.pending = count(.pending)
        reply.training = count(.training)
        reply.heldOut = count(.heldOut)
        reply.consumed = count(.consumed)
        reply.quarantined = count(.quarantined)
        reply.unusable = count(.unusable)
        reply.discarded = count(.discarded)
        reply.unusableReasons = summary.unusableReasons.mapValues(UInt64.init)
        reply.total = UInt64(summary.total)
        reply.events = UInt64(summary.events)
        reply.storedImages = UInt64(summary.storedImages)
        reply.storedImageBytes = UInt64(summary.imageBytes)
        reply.databaseBytes = UInt64(summary.databaseBytes)
        reply.labels = summary.byLabel.sorted { $0.key < $1.key }.map { label, counts in
            var proto = Boundary_V1_LabelCounts()
            proto.label = label
            proto.positive = UInt64(counts.positive)
            proto.negative = UInt64(counts.negative)
            proto.corrected = UInt64(counts.corrected)
            return proto
        }
        return reply
    }

    static func quarantined(_ event: QuarantinedEvent) -> Boundary_V1_QuarantinedEvent {
        var proto = Boundary_V1_QuarantinedEvent()
        proto.eventID = UInt64(event.eventID)
        proto.userID = event.userID
        proto.label = event.label
        proto.createdAt = event.createdAt
        proto.samples = UInt32(event.quarantinedSamples)
        proto.verdict = event.verdict
        return proto
    }

    static func selector(_ request: Boundary_V1_FeedbackSelection) throws -> FeedbackSelector {
        try RequestValidation.selector(eventIDs: request.eventIds, userID: request.userID, anonymousUser: request.anonymousUser)
    }
}
