import BoundaryAPI
import Foundation
import GRPCCore
import Logging
import Retraining
import Serving

/// `boundary.v1.Feedback`: maps lasso selections, queue summaries, retrains and quarantine admin
/// between the wire and the learning loop.
struct FeedbackService: Boundary_V1_Feedback.SimpleServiceProtocol {
    let loop: LearningLoop
    /// Where Retrain goes on a replica that does not train (nil: it is refused there).
    var forwarder: (any RetrainForwarder)?
    let logger: Logger

    func retrain(request: Boundary_V1_RetrainRequest, response: RPCWriter<Boundary_V1_RetrainProgress>,
                 context: ServerContext) async throws {
        if let forwarder, !loop.role.trains {
            return try await forwarded("Retrain") { try await forwarder.retrain(request) { try await response.write($0) } }
        }
        let job = try await mapped("Retrain") { try await loop.retrains.start(try RetrainMapping.options(request)) }
        try await RetrainMapping.stream(job, to: response)
    }

    func watchRetrain(request: Boundary_V1_WatchRetrainRequest, response: RPCWriter<Boundary_V1_RetrainProgress>,
                      context: ServerContext) async throws {
        if let forwarder, !loop.role.trains {
            return try await forwarded("WatchRetrain") { try await forwarder.watchRetrain(request) { try await response.write($0) } }
        }
        let job = try await mapped("WatchRetrain") { try await loop.retrains.job(model: request.model) }
        try await RetrainMapping.stream(job, to: response)
    }

    /// The trainer's own status (ALREADY_EXISTS for a running retrain…) passes through; failing
    /// to reach it is UNAVAILABLE, with what to do.
    private func forwarded(_ method: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as RPCError where error.code != .unavailable {
            throw error
        } catch {
            logger.warning("could not reach the trainer", metadata: ["method": "\(method)", "error": "\(error)"])
            throw RPCError(code: .unavailable, message: "this replica sends retrains to the trainer (--role train), which did not "
                           + "answer; retry when it is up, or check --trainer on this replica")
        }
    }

    func submitFeedback(request: Boundary_V1_SubmitFeedbackRequest, context: ServerContext) async throws
        -> Boundary_V1_SubmitFeedbackResponse {
        let user = try Caller.feedbackUser(requested: request.userID, caller: Caller.current)
        return try await mapped("SubmitFeedback") {
            let receipt = try await loop.intake.submit(FeedbackSubmission(
                model: request.model, label: request.label,
                kept: try request.kept.map(Self.reference), deselected: try request.deselected.map(Self.reference),
                corrections: try request.corrections.map { (try Self.reference($0.image), $0.label) },
                userID: user, idempotencyKey: request.idempotencyKey, head: request.head))
            var reply = Boundary_V1_SubmitFeedbackResponse()
            reply.eventID = String(receipt.eventID)
            reply.accepted = UInt32(receipt.accepted)
            reply.duplicates = UInt32(receipt.duplicates)
            reply.replayed = receipt.replayed
            reply.queueDepth = UInt64(receipt.queueDepth)
            return reply
        }
    }

    func getQueue(request: Boundary_V1_GetQueueRequest, context: ServerContext) async throws -> Boundary_V1_QueueStatus {
        try await mapped("GetQueue") {
            let (model, summary) = try await loop.intake.queue(model: request.model)
            var reply = QueueMapping.status(summary)
            reply.model = model
            do {
                if let last = try await loop.retrains.job(model: model).last { reply.lastRetrain = RetrainMapping.progress(last) }
            } catch ServingError.noRetrain {
                // None ran since the server started: the field stays unset.
            }
            if let next = loop.scheduleClock.nextRun { reply.nextRetrainAt = ISO8601DateFormatter().string(from: next) }
            return reply
        }
    }

    func listQuarantine(request: Boundary_V1_ListQuarantineRequest, context: ServerContext) async throws
        -> Boundary_V1_ListQuarantineResponse {
        try await mapped("ListQuarantine") {
            let (model, events) = try await loop.quarantined(model: request.model)
            var reply = Boundary_V1_ListQuarantineResponse()
            reply.model = model
            reply.events = events.map(QueueMapping.quarantined)
            return reply
        }
    }

    func releaseFeedback(request: Boundary_V1_FeedbackSelection, context: ServerContext) async throws
        -> Boundary_V1_FeedbackActionResult {
        try await mapped("ReleaseFeedback") {
            var reply = Boundary_V1_FeedbackActionResult()
            reply.samples = UInt32(try await loop.release(model: request.model, try QueueMapping.selector(request)))
            return reply
        }
    }

    func discardFeedback(request: Boundary_V1_FeedbackSelection, context: ServerContext) async throws
        -> Boundary_V1_FeedbackActionResult {
        try await mapped("DiscardFeedback") {
            var reply = Boundary_V1_FeedbackActionResult()
            reply.samples = UInt32(try await loop.discard(model: request.model, try QueueMapping.selector(request)))
            return reply
        }
    }

    /// Runs a handler body with domain errors mapped to statuses.
    private func mapped<T>(_ method: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw ErrorMapping.rpcError(for: error, method: method, logger: logger)
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
