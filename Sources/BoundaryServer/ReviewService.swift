import BoundaryAPI
import Foundation
import GRPCCore
import Logging
import Retraining
import Serving

/// `boundary.v1.Review`: maps candidate listings and thumbnails between the wire and the catalog.
struct ReviewService: Boundary_V1_Review.SimpleServiceProtocol {
    let catalog: ReviewCatalog
    let logger: Logger

    func listCandidates(request: Boundary_V1_ListCandidatesRequest, context: ServerContext) async throws
        -> Boundary_V1_ListCandidatesResponse {
        do {
            let order: CandidateQuery.Order
            switch request.order {
            case .marginAscending: order = .marginAscending
            case .newestFirst: order = .newestFirst
            case .UNRECOGNIZED(let value):
                throw ServingError.invalidArgument("order \(value) is not one of MARGIN_ASCENDING (0), NEWEST_FIRST (1)")
            }
            let projection: MapProjection
            switch request.projection {
            case .pca: projection = .pca
            case .tsne: projection = .tsne
            case .UNRECOGNIZED(let value):
                throw ServingError.invalidArgument("projection \(value) is not one of PCA (0), TSNE (1)")
            }
            let page = try await catalog.candidates(CandidateQuery(
                model: request.model, predictedLabel: request.predictedLabel, boundaryOnly: request.boundaryOnly, order: order,
                pageSize: Int(request.pageSize), pageToken: request.pageToken, projection: projection))
            var reply = Boundary_V1_ListCandidatesResponse()
            reply.model = page.model
            reply.total = UInt32(clamping: page.total)
            reply.nextPageToken = page.nextPageToken
            reply.explainedVariance = page.explainedVariance
            reply.projection = page.projection == .tsne ? .tsne : .pca
            reply.mapPending = page.mapPending
            let time = ISO8601DateFormatter()
            reply.candidates = page.entries.map { entry in
                var candidate = Boundary_V1_Candidate()
                candidate.imageID = entry.imageID
                candidate.version = UInt64(entry.seen.version)
                candidate.labels = entry.seen.labels.map { ranked in
                    var label = Boundary_V1_ScoredLabel()
                    label.label = ranked.label
                    label.index = UInt32(ranked.index)
                    label.score = ranked.score
                    return label
                }
                candidate.margin = entry.seen.margin
                candidate.boundary = entry.seen.isBoundary
                if let position = entry.position {
                    candidate.positioned = true
                    candidate.x = position.x
                    candidate.y = position.y
                }
                candidate.predictedAt = time.string(from: entry.seen.at)
                candidate.queued = UInt32(clamping: entry.queued)
                return candidate
            }
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "ListCandidates", logger: logger)
        }
    }

    func getThumbnail(request: Boundary_V1_GetThumbnailRequest, context: ServerContext) async throws -> Boundary_V1_Thumbnail {
        do {
            let thumbnail = try await catalog.thumbnail(imageID: request.imageID, maxSide: Int(request.maxSide))
            var reply = Boundary_V1_Thumbnail()
            reply.jpeg = thumbnail.jpeg
            reply.width = UInt32(thumbnail.width)
            reply.height = UInt32(thumbnail.height)
            return reply
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "GetThumbnail", logger: logger)
        }
    }
}
