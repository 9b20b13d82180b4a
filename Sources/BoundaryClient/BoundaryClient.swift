import BoundaryAPI
import Foundation
import GRPCCore
import GRPCProtobuf

/// A typed client for a Boundary server over any gRPC transport (HTTP/2 in the CLI, in-process in
/// tests). It adds the bearer token to every call and returns the API's messages as they are.
public struct BoundaryClient<Transport: ClientTransport>: Sendable {
    private let inference: Boundary_V1_Inference.Client<Transport>
    private let models: Boundary_V1_Models.Client<Transport>
    private let health: Grpc_Health_V1_Health.Client<Transport>
    private let feedback: Boundary_V1_Feedback.Client<Transport>
    private let review: Boundary_V1_Review.Client<Transport>
    private let searching: Boundary_V1_Search.Client<Transport>
    private var metadata: Metadata

    /// - Parameters:
    ///   - client: a running `GRPCClient` (its `runConnections()` must be in progress).
    ///   - token: sent as `authorization: Bearer <token>` when given.
    public init(wrapping client: GRPCClient<Transport>, token: String? = nil) {
        inference = Boundary_V1_Inference.Client(wrapping: client)
        models = Boundary_V1_Models.Client(wrapping: client)
        health = Grpc_Health_V1_Health.Client(wrapping: client)
        feedback = Boundary_V1_Feedback.Client(wrapping: client)
        review = Boundary_V1_Review.Client(wrapping: client)
        searching = Boundary_V1_Search.Client(wrapping: client)
        metadata = Self.metadata(token: token)
    }

    /// The same connection presenting another token (several reviewers through one client).
    public func authenticated(as token: String?) -> BoundaryClient {
        var copy = self
        copy.metadata = Self.metadata(token: token)
        return copy
    }

    private static func metadata(token: String?) -> Metadata {
        var metadata = Metadata()
        if let token, !token.isEmpty { metadata.addString("Bearer \(token)", forKey: "authorization") }
        return metadata
    }

    /// Classifies one encoded image.
    public func predict(image: Data, model: String = "", version: String = "", topK: Int = 0,
                        includeEmbedding: Bool = false, timeout: Duration? = nil) async throws -> Boundary_V1_PredictResponse {
        var request = Boundary_V1_PredictRequest()
        request.model = model
        request.version = version
        request.image = image
        request.topK = UInt32(clamping: topK)
        request.includeEmbedding = includeEmbedding
        return try await inference.predict(request, metadata: metadata, options: options(timeout))
    }

    /// Grad-CAM (and optionally feature maps) for an image given by its bytes or, with
    /// `imageID`, one the server predicted recently.
    public func explain(image: Data = Data(), imageID: String = "", model: String = "", version: String = "",
                        label: String = "", layer: String = "", featureMaps: Int = 0,
                        timeout: Duration? = nil) async throws -> Boundary_V1_ExplainResponse {
        var request = Boundary_V1_ExplainRequest()
        request.model = model
        request.version = version
        request.image = image
        request.imageID = imageID
        request.label = label
        request.layer = layer
        request.featureMaps = UInt32(clamping: featureMaps)
        return try await inference.explain(request, metadata: metadata, options: options(timeout))
    }

    /// Classifies many images over one PredictStream, `images[i]` answered by the reply whose
    /// request id is `String(i)`. Replies come back in request order.
    public func predictAll(images: [Data], model: String = "", version: String = "", topK: Int = 0,
                           timeout: Duration? = nil) async throws -> [Boundary_V1_PredictResponse] {
        let requests = images.enumerated().map { index, image in
            var request = Boundary_V1_PredictRequest()
            request.model = model
            request.version = version
            request.image = image
            request.topK = UInt32(clamping: topK)
            request.requestID = String(index)
            return request
        }
        return try await inference.predictStream(
            metadata: metadata, options: options(timeout),
            requestProducer: { writer in try await writer.write(contentsOf: requests) },
            onResponse: { response in
                var replies: [Int: Boundary_V1_PredictResponse] = [:]
                for try await reply in response.messages {
                    if let index = Int(reply.requestID) { replies[index] = reply }
                }
                return try requests.indices.map { index in
                    guard let reply = replies[index] else {
                        throw RPCError(code: .dataLoss, message: "the server sent no reply for image \(index)")
                    }
                    return reply
                }
            })
    }

    public func listModels() async throws -> [Boundary_V1_ModelInfo] {
        try await models.listModels(Boundary_V1_ListModelsRequest(), metadata: metadata).models
    }

    public func model(named name: String) async throws -> Boundary_V1_ModelInfo {
        var request = Boundary_V1_GetModelRequest()
        request.model = name
        return try await models.getModel(request, metadata: metadata)
    }

    /// Promotes or rolls back `model` to `version` (needs the admin role).
    public func setServingVersion(model: String, version: Int) async throws -> Boundary_V1_ModelInfo {
        var request = Boundary_V1_SetServingVersionRequest()
        request.model = model
        request.version = UInt64(clamping: version)
        return try await models.setServingVersion(request, metadata: metadata)
    }

    /// Submits one lasso selection. `kept` and `deselected` are image ids (from Predict) or bytes;
    /// `head` names the head a multi-head model's `label` belongs to.
    public func submitFeedback(model: String = "", label: String, kept: [Boundary_V1_ImageRef] = [],
                               deselected: [Boundary_V1_ImageRef] = [], corrections: [Boundary_V1_Correction] = [],
                               userID: String = "", idempotencyKey: String, head: String = "")
        async throws -> Boundary_V1_SubmitFeedbackResponse {
        var request = Boundary_V1_SubmitFeedbackRequest()
        request.model = model
        request.head = head
        request.label = label
        request.kept = kept
        request.deselected = deselected
        request.corrections = corrections
        request.userID = userID
        request.idempotencyKey = idempotencyKey
        return try await feedback.submitFeedback(request, metadata: metadata)
    }

    /// One page of recently predicted images for reviewers (see `Boundary_V1_ListCandidatesRequest`).
    public func listCandidates(_ request: Boundary_V1_ListCandidatesRequest) async throws -> Boundary_V1_ListCandidatesResponse {
        try await review.listCandidates(request, metadata: metadata)
    }

    /// A JPEG thumbnail of a remembered or stored image, at most `maxSide` pixels on its longest side.
    public func thumbnail(imageID: String, maxSide: Int = 0) async throws -> Boundary_V1_Thumbnail {
        var request = Boundary_V1_GetThumbnailRequest()
        request.imageID = imageID
        request.maxSide = UInt32(clamping: maxSide)
        return try await review.getThumbnail(request, metadata: metadata)
    }

    /// The images most like one image (see `Boundary_V1_FindSimilarRequest`).
    public func findSimilar(_ request: Boundary_V1_FindSimilarRequest) async throws -> Boundary_V1_FindSimilarResponse {
        try await searching.findSimilar(request, metadata: metadata)
    }

    /// Images for a word: a class label, or a word learned from marks.
    public func search(_ request: Boundary_V1_SearchRequest) async throws -> Boundary_V1_SearchResponse {
        try await searching.search(request, metadata: metadata)
    }

    public func markResults(_ request: Boundary_V1_MarkResultsRequest) async throws -> Boundary_V1_MarkResultsResponse {
        try await searching.markResults(request, metadata: metadata)
    }

    public func listQueries(model: String = "") async throws -> Boundary_V1_ListQueriesResponse {
        var request = Boundary_V1_ListQueriesRequest()
        request.model = model
        return try await searching.listQueries(request, metadata: metadata)
    }

    public func deleteQuery(model: String = "", word: String) async throws -> Boundary_V1_DeleteQueryResponse {
        var request = Boundary_V1_DeleteQueryRequest()
        request.model = model
        request.word = word
        return try await searching.deleteQuery(request, metadata: metadata)
    }

    /// Pending feedback of `model` (empty: the default model).
    public func queue(model: String = "") async throws -> Boundary_V1_QueueStatus {
        var request = Boundary_V1_GetQueueRequest()
        request.model = model
        return try await feedback.getQueue(request, metadata: metadata)
    }

    /// Events with quarantined feedback, newest first.
    public func quarantine(model: String = "") async throws -> Boundary_V1_ListQuarantineResponse {
        var request = Boundary_V1_ListQuarantineRequest()
        request.model = model
        return try await feedback.listQuarantine(request, metadata: metadata)
    }

    /// Returns quarantined feedback to the queue.
    public func releaseFeedback(_ selection: Boundary_V1_FeedbackSelection) async throws -> Boundary_V1_FeedbackActionResult {
        try await feedback.releaseFeedback(selection, metadata: metadata)
    }

    /// Discards feedback (kept for audit, never trained on).
    public func discardFeedback(_ selection: Boundary_V1_FeedbackSelection) async throws -> Boundary_V1_FeedbackActionResult {
        try await feedback.discardFeedback(selection, metadata: metadata)
    }

    /// Starts a retrain and calls `onProgress` for each update until the job ends; returns the last.
    public func retrain(_ request: Boundary_V1_RetrainRequest,
                        onProgress: @escaping @Sendable (Boundary_V1_RetrainProgress) -> Void = { _ in })
        async throws -> Boundary_V1_RetrainProgress {
        try await feedback.retrain(request, metadata: metadata) { response in
            var last = Boundary_V1_RetrainProgress()
            for try await update in response.messages {
                onProgress(update)
                last = update
            }
            return last
        }
    }

    /// Starts a retrain and returns its first update (with the job id) without following it.
    public func retrainStart(_ request: Boundary_V1_RetrainRequest) async throws -> Boundary_V1_RetrainProgress {
        try await feedback.retrain(request, metadata: metadata) { response in
            for try await update in response.messages { return update }
            throw RPCError(code: .dataLoss, message: "the server ended the retrain stream without an update")
        }
    }

    /// Runs a retrain and hands every update to `each` as it arrives (waiting for it: a relay
    /// that writes each update on to its own caller).
    public func forward(_ request: Boundary_V1_RetrainRequest,
                        each: @escaping @Sendable (Boundary_V1_RetrainProgress) async throws -> Void) async throws {
        try await feedback.retrain(request, metadata: metadata) { response in
            for try await update in response.messages { try await each(update) }
        }
    }

    /// Follows the running (or last) retrain as `forward` does.
    public func forward(_ request: Boundary_V1_WatchRetrainRequest,
                        each: @escaping @Sendable (Boundary_V1_RetrainProgress) async throws -> Void) async throws {
        try await feedback.watchRetrain(request, metadata: metadata) { response in
            for try await update in response.messages { try await each(update) }
        }
    }

    /// Follows the running (or last) retrain of `model` until it ends; returns the last update.
    public func watchRetrain(model: String = "",
                             onProgress: @escaping @Sendable (Boundary_V1_RetrainProgress) -> Void = { _ in })
        async throws -> Boundary_V1_RetrainProgress {
        var request = Boundary_V1_WatchRetrainRequest()
        request.model = model
        return try await feedback.watchRetrain(request, metadata: metadata) { response in
            var last = Boundary_V1_RetrainProgress()
            for try await update in response.messages {
                onProgress(update)
                last = update
            }
            return last
        }
    }

    /// The server's health status for `service` ("" for the whole server).
    public func healthStatus(service: String = "") async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = service
        return try await health.check(request, metadata: metadata).status
    }

    /// Watches the health of `service` ("" for the whole server) and returns every status seen, up
    /// to and including the first one `done` accepts (e.g. SERVING).
    public func watchHealth(
        service: String = "", until done: @escaping @Sendable (Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> Bool
    ) async throws -> [Grpc_Health_V1_HealthCheckResponse.ServingStatus] {
        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = service
        return try await health.watch(request, metadata: metadata) { response in
            var seen: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
            for try await message in response.messages {
                seen.append(message.status)
                if done(message.status) { break }
            }
            return seen
        }
    }

    private func options(_ timeout: Duration?) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }
}

extension Boundary_V1_ImageRef {
    /// A reference by the id Predict returned.
    public static func id(_ imageID: String) -> Self {
        var ref = Self()
        ref.imageID = imageID
        return ref
    }

    /// A reference carrying the encoded image itself.
    public static func bytes(_ image: Data) -> Self {
        var ref = Self()
        ref.image = image
        return ref
    }
}
