import BoundaryAPI
import FeedbackStore
import Foundation
import GRPCCore
import Logging
import Serving

/// `boundary.v1.Feedback`: maps lasso selections to `FeedbackIntake` and queue summaries back.
struct FeedbackService: Boundary_V1_Feedback.SimpleServiceProtocol {
    let intake: FeedbackIntake
    let retrains: RetrainCoordinator
    let schedule: RetrainScheduleClock
    let logger: Logger

    func retrain(request: Boundary_V1_RetrainRequest, response: RPCWriter<Boundary_V1_RetrainProgress>,
                 context: ServerContext) async throws {
        let job: RetrainJob
        do {
            job = try await retrains.start(try RetrainMapping.options(request))
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "Retrain", logger: logger)
        }
        try await RetrainMapping.stream(job, to: response)
    }

    func watchRetrain(request: Boundary_V1_WatchRetrainRequest, response: RPCWriter<Boundary_V1_RetrainProgress>,
                      context: ServerContext) async throws {
        let job: RetrainJob
        do {
            job = try await retrains.job(model: request.model)
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "WatchRetrain", logger: logger)
        }
        try await RetrainMapping.stream(job, to: response)
    }

    func submitFeedback(request: Boundary_V1_SubmitFeedbackRequest, context: ServerContext) async throws
        -> Boundary_V1_SubmitFeedbackResponse {
        do {
            let receipt = try await intake.submit(FeedbackSubmission(
                model: request.model, label: request.label,
                kept: try request.kept.map(Self.reference), deselected: try request.deselected.map(Self.reference),
                corrections: try request.corrections.map { (try Self.reference($0.image), $0.label) },
                userID: request.userID, idempotencyKey: request.idempotencyKey))
            var reply = Boundary_V1_SubmitFeedbackResponse()
            reply.eventID = String(receipt.eventID)
            reply.accepted = UInt32(receipt.accepted)
            reply.duplicates = UInt32(receipt.duplicates)
            reply.replayed = receipt.replayed
            reply.queueDepth = UInt64(receipt.queueDepth)
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "SubmitFeedback", logger: logger)
        }
    }

    func getQueue(request: Boundary_V1_GetQueueRequest, context: ServerContext) async throws -> Boundary_V1_QueueStatus {
        do {
            let (model, summary) = try await intake.queue(model: request.model)
            var reply = Boundary_V1_QueueStatus()
            reply.model = model
            reply.pending = UInt64(summary.pending)
            reply.total = UInt64(summary.total)
            reply.events = UInt64(summary.events)
            reply.labels = summary.byLabel.sorted { $0.key < $1.key }.map { label, counts in
                var proto = Boundary_V1_LabelCounts()
                proto.label = label
                proto.positive = UInt64(counts.positive)
                proto.negative = UInt64(counts.negative)
                proto.corrected = UInt64(counts.corrected)
                return proto
            }
            if let last = (try? await retrains.job(model: model))?.last {
                reply.lastRetrain = RetrainMapping.progress(last)
            }
            if let next = schedule.nextRun { reply.nextRetrainAt = ISO8601DateFormatter().string(from: next) }
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "GetQueue", logger: logger)
        }
    }

    static func reference(_ proto: Boundary_V1_ImageRef) throws -> ImageReference {
        switch proto.ref {
        case .imageID(let id): return .id(id)
        case .image(let bytes): return .bytes(bytes)
        case nil: throw ServingError.invalidArgument("an image reference is empty: set image_id or image")
        }
    }
}
