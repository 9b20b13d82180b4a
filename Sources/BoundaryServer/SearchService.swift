import BoundaryAPI
import Foundation
import GRPCCore
import ImageSearch
import Logging
import Retraining
import Serving

/// `boundary.v1.Search`: maps search requests and results between the wire and `ImageSearch`.
struct SearchService: Boundary_V1_Search.SimpleServiceProtocol {
    let search: ImageSearch
    let logger: Logger

    func findSimilar(request: Boundary_V1_FindSimilarRequest, context: ServerContext) async throws -> Boundary_V1_FindSimilarResponse {
        do {
            let image: ImageReference
            switch request.query {
            case .imageID(let id): image = .id(id)
            case .image(let bytes): image = .bytes(bytes)
            case nil: throw ServingError.invalidArgument("send image_id (an indexed image) or image (encoded bytes)")
            }
            let results = try await search.findSimilar(model: request.model, image: image, k: Int(request.k),
                                                       filter: try SearchWire.filter(request.filter))
            var reply = Boundary_V1_FindSimilarResponse()
            reply.model = results.model
            reply.queryImageID = results.queryImageID
            reply.matches = results.matches.map(SearchWire.match)
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "FindSimilar", logger: logger)
        }
    }

    func search(request: Boundary_V1_SearchRequest, context: ServerContext) async throws -> Boundary_V1_SearchResponse {
        do {
            let results = try await search.search(model: request.model, word: request.word, pageSize: Int(request.pageSize),
                                                  pageToken: request.pageToken, filter: try SearchWire.filter(request.filter),
                                                  example: request.exampleImageID)
            var reply = Boundary_V1_SearchResponse()
            reply.model = results.model
            reply.word = results.word
            reply.kind = SearchWire.kind(results.kind)
            reply.matches = results.matches.map(SearchWire.match)
            reply.nextPageToken = results.nextPageToken
            reply.rounds = UInt32(clamping: results.rounds)
            reply.hint = results.hint
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "Search", logger: logger)
        }
    }

    func markResults(request: Boundary_V1_MarkResultsRequest, context: ServerContext) async throws -> Boundary_V1_MarkResultsResponse {
        do {
            let user = try Caller.feedbackUser(requested: request.userID, caller: Caller.current)
            let result = try await search.mark(model: request.model, word: request.word,
                                               marks: request.marks.map { ResultMark(imageID: $0.imageID, relevant: $0.relevant) },
                                               idempotencyKey: request.idempotencyKey, userID: user)
            var reply = Boundary_V1_MarkResultsResponse()
            reply.model = result.model
            reply.word = result.word
            reply.kind = SearchWire.kind(result.kind)
            reply.rounds = UInt32(clamping: result.rounds)
            reply.replayed = result.replayed
            reply.queuedSamples = UInt32(clamping: result.queuedSamples)
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "MarkResults", logger: logger)
        }
    }

    func listQueries(request: Boundary_V1_ListQueriesRequest, context: ServerContext) async throws -> Boundary_V1_ListQueriesResponse {
        do {
            let (model, queries) = try await search.queries(model: request.model)
            var reply = Boundary_V1_ListQueriesResponse()
            reply.model = model
            let time = ISO8601DateFormatter()
            reply.queries = queries.map { query in
                var wire = Boundary_V1_LearnedQuery()
                wire.word = query.word
                wire.rounds = UInt32(clamping: query.rounds)
                wire.relevant = UInt32(clamping: query.relevant)
                wire.notRelevant = UInt32(clamping: query.notRelevant)
                wire.updatedAt = time.string(from: query.updatedAt)
                wire.ready = !query.vector.isEmpty
                return wire
            }
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "ListQueries", logger: logger)
        }
    }

    func deleteQuery(request: Boundary_V1_DeleteQueryRequest, context: ServerContext) async throws -> Boundary_V1_DeleteQueryResponse {
        do {
            var reply = Boundary_V1_DeleteQueryResponse()
            reply.model = try await search.deleteQuery(model: request.model, word: request.word)
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "DeleteQuery", logger: logger)
        }
    }
}

/// Wire ⇄ domain for search types, shared with nothing else.
enum SearchWire {
    static func filter(_ wire: Boundary_V1_SearchFilter) throws -> SearchFilter {
        try RequestValidation.searchFilter(label: wire.predictedLabel, boundaryOnly: wire.boundaryOnly, version: wire.version,
                                           seenAfter: wire.seenAfter, seenBefore: wire.seenBefore)
    }

    static func match(_ match: ImageMatch) -> Boundary_V1_SearchMatch {
        var wire = Boundary_V1_SearchMatch()
        wire.imageID = match.imageID
        wire.score = match.score
        wire.predictedLabel = match.image.label
        wire.margin = match.image.margin
        wire.boundary = match.image.isBoundary
        wire.version = UInt64(match.image.version)
        wire.predictedAt = ISO8601DateFormatter().string(from: match.image.seenAt)
        return wire
    }

    static func kind(_ kind: WordResults.Kind) -> Boundary_V1_SearchResponse.Kind {
        switch kind {
        case .classLabel: .classLabel
        case .learned: .learned
        }
    }
}
