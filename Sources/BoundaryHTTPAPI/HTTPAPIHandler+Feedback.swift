import BoundaryServer
import Foundation
import OpenAPIRuntime
import Retraining
import Serving

extension HTTPAPIHandler {
    public func submitFeedback(_ input: Operations.SubmitFeedback.Input) async throws -> Operations.SubmitFeedback.Output {
        guard case .json(let body) = input.body else { throw ServingError.invalidArgument("send a JSON body") }
        let user = try Caller.feedbackUser(requested: body.userId ?? "", caller: Caller.current)
        let receipt = try await loop.intake.submit(FeedbackSubmission(
            model: body.model ?? "", label: body.label,
            kept: try (body.kept ?? []).map(Self.reference), deselected: try (body.deselected ?? []).map(Self.reference),
            corrections: try (body.corrections ?? []).map { (try Self.reference($0.image), $0.label) },
            userID: user, idempotencyKey: body.idempotencyKey ?? "", head: body.head ?? ""))
        return .ok(.init(body: .json(Wire.receipt(receipt))))
    }

    public func getQueue(_ input: Operations.GetQueue.Input) async throws -> Operations.GetQueue.Output {
        .ok(.init(body: .json(try await queueStatus(model: input.query.model ?? ""))))
    }

    public func listQuarantine(_ input: Operations.ListQuarantine.Input) async throws -> Operations.ListQuarantine.Output {
        let (model, events) = try await loop.quarantined(model: input.query.model ?? "")
        return .ok(.init(body: .json(.init(model: model, events: events.map(Wire.quarantined)))))
    }

    public func releaseFeedback(_ input: Operations.ReleaseFeedback.Input) async throws -> Operations.ReleaseFeedback.Output {
        guard case .json(let body) = input.body else { throw ServingError.invalidArgument("send a JSON body") }
        let samples = try await loop.release(model: body.model ?? "", try Self.selector(body))
        return .ok(.init(body: .json(.init(samples: Int64(samples)))))
    }

    public func discardFeedback(_ input: Operations.DiscardFeedback.Input) async throws -> Operations.DiscardFeedback.Output {
        guard case .json(let body) = input.body else { throw ServingError.invalidArgument("send a JSON body") }
        let samples = try await loop.discard(model: body.model ?? "", try Self.selector(body))
        return .ok(.init(body: .json(.init(samples: Int64(samples)))))
    }

    /// The queue as GetQueue reports it: counts, the last retrain since start-up, the next scheduled one.
    func queueStatus(model requested: String) async throws -> Components.Schemas.QueueStatus {
        let (model, summary) = try await loop.intake.queue(model: requested)
        var last: RetrainUpdate?
        do {
            last = try await loop.retrains.job(model: model).last
        } catch ServingError.noRetrain {
            // None ran since the server started: the field stays unset.
        }
        return Wire.queue(summary, model: model, lastRetrain: last, nextRetrain: loop.scheduleClock.nextRun)
    }

    static func reference(_ wire: Components.Schemas.ImageRef) throws -> ImageReference {
        switch (wire.imageId, wire.image) {
        case (let id?, nil): return .id(id)
        case (nil, let bytes?): return .bytes(Data(bytes.data))
        case (nil, nil): throw ServingError.invalidArgument("an image reference is empty: set image_id or image")
        case (_?, _?): throw ServingError.invalidArgument("an image reference sets both image_id and image: send one")
        }
    }

    static func selector(_ body: Components.Schemas.FeedbackSelection) throws -> FeedbackSelector {
        let ids = body.eventIds ?? []
        guard ids.allSatisfy({ $0 >= 0 }) else { throw ServingError.invalidArgument("an event id is out of range") }
        return try RequestValidation.selector(eventIDs: ids.map { UInt64($0) }, userID: body.userId ?? "",
                                              anonymousUser: body.anonymousUser ?? false)
    }
}
