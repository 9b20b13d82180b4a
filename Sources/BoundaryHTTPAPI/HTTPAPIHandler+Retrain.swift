import BoundaryServer
import Foundation
import OpenAPIRuntime
import Retraining
import Serving

extension HTTPAPIHandler {
    public func startRetrain(_ input: Operations.StartRetrain.Input) async throws -> Operations.StartRetrain.Output {
        guard case .json(let body) = input.body else { throw ServingError.invalidArgument("send a JSON body") }
        let job = try await loop.retrains.start(try RequestValidation.retrainOptions(Self.fields(body)))
        // The first update (queued) is already in the job's history, so this does not wait for training.
        for await first in job.updates() {
            return .accepted(.init(body: .json(Wire.progress(first, model: job.model))))
        }
        throw ServingError.noRetrain(model: job.model)
    }

    public func getRetrain(_ input: Operations.GetRetrain.Input) async throws -> Operations.GetRetrain.Output {
        let job = try await loop.retrains.job(model: input.query.model ?? "")
        var latest = job.last
        if latest == nil { for await first in job.updates() { latest = first; break } }
        guard let latest else { throw ServingError.noRetrain(model: job.model) }
        return .ok(.init(body: .json(Wire.progress(latest, model: job.model))))
    }

    /// Every update so far, then the live ones; the stream ends after the final one (or when the
    /// server drains).
    public func watchRetrain(_ input: Operations.WatchRetrain.Input) async throws -> Operations.WatchRetrain.Output {
        let job = try await loop.retrains.job(model: input.query.model ?? "")
        let model = job.model
        let events = EventStreams.untilDrain(job.updates(), drain: drain).map { update in
            ServerSentEventWithJSONData(event: "progress", data: Wire.progress(update, model: model))
        }
        return .ok(.init(body: .textEventStream(HTTPBody(
            events.asEncodedServerSentEventsWithJSONData(), length: .unknown, iterationBehavior: .single))))
    }

    /// The queue now, then again each time it changes; ends when the server begins to drain, so
    /// open streams never hold up a graceful shutdown.
    public func watchQueue(_ input: Operations.WatchQueue.Input) async throws -> Operations.WatchQueue.Output {
        let requested = input.query.model ?? ""
        let first = try await queueStatus(model: requested)  // An unknown model is a 404, not an empty stream.
        let poller = QueuePoller(first: first, poll: { try await queueStatus(model: first.model) },
                                 interval: queuePollInterval, drain: drain)
        let events = AsyncThrowingStream<ServerSentEventWithJSONData<Components.Schemas.QueueStatus>, any Error>(unfolding: {
            guard let status = try await poller.next() else { return nil }
            return ServerSentEventWithJSONData(event: "queue", data: status)
        })
        return .ok(.init(body: .textEventStream(HTTPBody(
            events.asEncodedServerSentEventsWithJSONData(), length: .unknown, iterationBehavior: .single))))
    }

    static func fields(_ body: Components.Schemas.RetrainRequest) throws -> RequestValidation.RetrainFields {
        func unsigned(_ value: Int32?, _ name: String) throws -> UInt32 {
            guard let value else { return 0 }
            guard value >= 0 else { throw ServingError.invalidArgument("\(name) must not be negative") }
            return UInt32(value)
        }
        var fields = RequestValidation.RetrainFields()
        fields.model = body.model ?? ""
        fields.mode = body.mode == .full ? .full : .head
        fields.unfreezeBlocks = try unsigned(body.unfreezeBlocks, "unfreeze_blocks")
        fields.epochs = try unsigned(body.epochs, "epochs")
        fields.learningRate = body.learningRate ?? 0
        fields.boundaryUpsampling = body.boundaryUpsampling ?? 0
        fields.replayRatio = body.replayRatio ?? 0
        fields.minNewSamples = try unsigned(body.minNewSamples, "min_new_samples")
        fields.dryRun = body.dryRun ?? false
        fields.tolerance = body.tolerance ?? 0
        fields.confidence = body.confidence ?? 0
        fields.minEvaluationPerClass = try unsigned(body.minEvaluationPerClass, "min_evaluation_per_class")
        return fields
    }
}

/// Yields the first queue status, then waits for a different one, polling every `interval`.
/// Returns nil once the server drains.
private actor QueuePoller {
    private var pending: Components.Schemas.QueueStatus?
    private var last: Components.Schemas.QueueStatus?
    private let poll: @Sendable () async throws -> Components.Schemas.QueueStatus
    private let interval: Duration
    private let drain: DrainState

    init(first: Components.Schemas.QueueStatus, poll: @escaping @Sendable () async throws -> Components.Schemas.QueueStatus,
         interval: Duration, drain: DrainState) {
        pending = first
        self.poll = poll
        self.interval = interval
        self.drain = drain
    }

    func next() async throws -> Components.Schemas.QueueStatus? {
        if let first = pending {
            pending = nil
            last = first
            return first
        }
        while !drain.isDraining {
            try await Task.sleep(for: interval)
            let status = try await poll()
            if status != last {
                last = status
                return status
            }
        }
        return nil
    }
}
