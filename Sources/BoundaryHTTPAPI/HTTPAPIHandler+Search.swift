import BoundaryServer
import Foundation
import ImageSearch
import OpenAPIRuntime
import Retraining
import Serving

extension HTTPAPIHandler {
    public func findSimilar(_ input: Operations.FindSimilar.Input) async throws -> Operations.FindSimilar.Output {
        let query = input.query
        let filter = try Self.filter(label: query.label, boundaryOnly: query.boundaryOnly, predictedBy: query.predictedBy,
                                     seenAfter: query.seenAfter, seenBefore: query.seenBefore)
        let results = try await search.findSimilar(model: query.model ?? "", image: .id(input.path.imageId), k: Int(query.k ?? 0),
                                                   filter: filter)
        return .ok(.init(body: .json(Self.similar(results))))
    }

    public func findSimilarToUpload(_ input: Operations.FindSimilarToUpload.Input) async throws -> Operations.FindSimilarToUpload.Output {
        let body: HTTPBody
        switch input.body {
        case .binary(let bytes), .jpeg(let bytes), .png(let bytes): body = bytes
        }
        let query = input.query
        let filter = try Self.filter(label: query.label, boundaryOnly: query.boundaryOnly, predictedBy: query.predictedBy,
                                     seenAfter: query.seenAfter, seenBefore: query.seenBefore)
        let image = try await HTTPBodyLimit.collect(body, upTo: limits.request)
        let results = try await search.findSimilar(model: query.model ?? "", image: .bytes(image), k: Int(query.k ?? 0), filter: filter)
        return .ok(.init(body: .json(Self.similar(results))))
    }

    public func search(_ input: Operations.Search.Input) async throws -> Operations.Search.Output {
        let query = input.query
        let filter = try Self.filter(label: query.label, boundaryOnly: query.boundaryOnly, predictedBy: query.predictedBy,
                                     seenAfter: query.seenAfter, seenBefore: query.seenBefore)
        let results = try await search.search(model: query.model ?? "", word: query.word, pageSize: Int(query.pageSize ?? 0),
                                              pageToken: query.pageToken ?? "", filter: filter, example: query.example ?? "")
        return .ok(.init(body: .json(.init(
            model: results.model, word: results.word, kind: results.kind == .classLabel ? .classLabel : .learned,
            matches: results.matches.map(Self.match), nextPageToken: results.nextPageToken, rounds: Int32(clamping: results.rounds),
            hint: results.hint))))
    }

    public func markResults(_ input: Operations.MarkResults.Input) async throws -> Operations.MarkResults.Output {
        guard case .json(let body) = input.body else { throw ServingError.invalidArgument("send a JSON body") }
        let user = try Caller.feedbackUser(requested: body.userId ?? "", caller: Caller.current)
        let result = try await search.mark(model: body.model ?? "", word: body.word,
                                           marks: body.marks.map { ResultMark(imageID: $0.imageId, relevant: $0.relevant) },
                                           idempotencyKey: body.idempotencyKey, userID: user)
        return .ok(.init(body: .json(.init(
            model: result.model, word: result.word, kind: result.kind == .classLabel ? .classLabel : .learned,
            rounds: Int32(clamping: result.rounds), replayed: result.replayed, queuedSamples: Int32(clamping: result.queuedSamples)))))
    }

    public func listQueries(_ input: Operations.ListQueries.Input) async throws -> Operations.ListQueries.Output {
        let (model, queries) = try await search.queries(model: input.query.model ?? "")
        let time = ISO8601DateFormatter()
        return .ok(.init(body: .json(.init(model: model, queries: queries.map { query in
            .init(word: query.word, rounds: Int32(clamping: query.rounds), relevant: Int32(clamping: query.relevant),
                  notRelevant: Int32(clamping: query.notRelevant), updatedAt: time.string(from: query.updatedAt),
                  ready: !query.vector.isEmpty)
        }))))
    }

    public func deleteQuery(_ input: Operations.DeleteQuery.Input) async throws -> Operations.DeleteQuery.Output {
        let model = try await search.deleteQuery(model: input.query.model ?? "", word: input.path.word)
        return .ok(.init(body: .json(.init(model: model))))
    }

    /// The filter parameters every search operation shares; absent means "any".
    static func filter(label: String?, boundaryOnly: Bool?, predictedBy: Int64?, seenAfter: String?,
                       seenBefore: String?) throws -> SearchFilter {
        try RequestValidation.searchFilter(label: label ?? "", boundaryOnly: boundaryOnly ?? false,
                                           version: UInt64(clamping: predictedBy ?? 0), seenAfter: seenAfter ?? "",
                                           seenBefore: seenBefore ?? "")
    }

    static func similar(_ results: SimilarResults) -> Components.Schemas.SimilarResults {
        .init(model: results.model, queryImageId: results.queryImageID, matches: results.matches.map(match))
    }

    static func match(_ match: ImageMatch) -> Components.Schemas.SearchMatch {
        .init(imageId: match.imageID, score: match.score, predictedLabel: match.image.label, margin: match.image.margin,
              boundary: match.image.isBoundary, version: Int64(match.image.version),
              predictedAt: ISO8601DateFormatter().string(from: match.image.seenAt))
    }
}
