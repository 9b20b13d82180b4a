import BoundaryAPI
import Foundation
import GRPCCore
import Logging
import Serving

/// `boundary.v1.Inference`: maps protos to `Predictor` calls and errors to statuses, nothing more.
struct InferenceService: Boundary_V1_Inference.SimpleServiceProtocol {
    let predictor: Predictor
    let explainer: Explainer
    let drain: DrainState
    let logger: Logger
    /// Requests of one PredictStream being served at once; the stream reads no further ahead, so
    /// a fast client is slowed by flow control instead of filling the server's memory.
    let streamWindow: Int

    func predict(request: Boundary_V1_PredictRequest, context: ServerContext) async throws -> Boundary_V1_PredictResponse {
        do {
            return try await cancellingWithRPC(context, drain: drain) { try await answer(request) }
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "Predict", logger: logger)
        }
    }

    /// Up to `streamWindow` requests of the stream run at once and replies go out as they finish.
    /// When gRPC cancels the RPC (client gone, deadline, server draining) reading stops, the
    /// requests already read are answered, and the stream ends.
    func predictStream(
        request: RPCAsyncSequence<Boundary_V1_PredictRequest, any Error>,
        response: RPCWriter<Boundary_V1_PredictResponse>,
        context: ServerContext
    ) async throws {
        let (incoming, feed) = AsyncStream.makeStream(of: Boundary_V1_PredictRequest.self)
        let (replies, replyFeed) = AsyncStream.makeStream(of: Boundary_V1_PredictResponse.self)
        // One permit per request read and not yet answered on the wire.
        let permits = AsyncPermits(streamWindow)
        try await withThrowingTaskGroup(of: Void.self) { readers in
            readers.addTask {
                defer { feed.finish() }
                for try await message in request {
                    await permits.acquire()
                    if case .terminated = feed.yield(message) { permits.release(); return }
                }
            }
            readers.addTask {
                try await context.cancellation.cancelled
                feed.finish()
            }
            try await withThrowingDiscardingTaskGroup { work in
                work.addTask {
                    // After a failed write (the client went away) the replies are still drained,
                    // so every permit comes back and the handler can finish.
                    var failure: (any Error)?
                    for await reply in replies {
                        if failure == nil {
                            do { try await response.write(reply) } catch { failure = error }
                        }
                        permits.release()
                    }
                    if let failure { throw failure }
                }
                for await message in incoming {
                    work.addTask { replyFeed.yield(await self.answerInStream(message)) }
                }
                // Holding every permit means every request read has been answered.
                for _ in 0..<streamWindow { await permits.acquire() }
                replyFeed.finish()
            }
            readers.cancelAll()
        }
    }

    private func answerInStream(_ request: Boundary_V1_PredictRequest) async -> Boundary_V1_PredictResponse {
        do {
            return try await answer(request)
        } catch {
            let status = ErrorMapping.rpcError(for: error, method: "PredictStream", logger: logger)
            var reply = Boundary_V1_PredictResponse()
            reply.requestID = request.requestID
            reply.errorCode = UInt32(status.code.rawValue)
            reply.errorMessage = status.message
            return reply
        }
    }

    func explain(request: Boundary_V1_ExplainRequest, context: ServerContext) async throws -> Boundary_V1_ExplainResponse {
        do {
            return try await cancellingWithRPC(context, drain: drain) {
                try ExplainMapping.response(await explainer.explain(ExplainMapping.request(request)))
            }
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "Explain", logger: logger)
        }
    }

    private func answer(_ request: Boundary_V1_PredictRequest) async throws -> Boundary_V1_PredictResponse {
        let prediction = try await predictor.predict(PredictionRequest(
            model: request.model, version: request.version, image: request.image,
            topK: Int(request.topK), includeEmbedding: request.includeEmbedding))
        var reply = Boundary_V1_PredictResponse()
        reply.requestID = request.requestID
        reply.imageID = prediction.imageID
        reply.model = prediction.model
        reply.version = UInt64(prediction.version)
        func scored(_ ranked: RankedLabel) -> Boundary_V1_ScoredLabel {
            var label = Boundary_V1_ScoredLabel()
            label.label = ranked.label
            label.index = UInt32(ranked.index)
            label.score = ranked.score
            return label
        }
        reply.labels = prediction.labels.map(scored)
        reply.margin = prediction.margin
        reply.boundary = prediction.isBoundary
        reply.heads = prediction.heads.map { ranking in
            var head = Boundary_V1_HeadPrediction()
            head.head = ranking.head
            head.labels = ranking.labels.map(scored)
            head.margin = ranking.margin
            head.boundary = ranking.isBoundary
            return head
        }
        reply.embedding = prediction.embedding ?? []
        reply.decodeMs = prediction.decodeSeconds * 1000
        reply.inferenceMs = prediction.inferenceSeconds * 1000
        reply.batchSize = UInt32(prediction.batchSize)
        return reply
    }
}
