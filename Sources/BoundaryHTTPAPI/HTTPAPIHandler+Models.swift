import BoundaryServer
import Foundation
import OpenAPIRuntime
import Retraining
import Serving

extension HTTPAPIHandler {
    public func listModels(_ input: Operations.ListModels.Input) async throws -> Operations.ListModels.Output {
        .ok(.init(body: .json(.init(models: try host.describeAll().map(Wire.model)))))
    }

    public func getModel(_ input: Operations.GetModel.Input) async throws -> Operations.GetModel.Output {
        .ok(.init(body: .json(Wire.model(try host.describe(model: input.path.model)))))
    }

    public func setServingVersion(_ input: Operations.SetServingVersion.Input) async throws -> Operations.SetServingVersion.Output {
        guard case .json(let body) = input.body else { throw ServingError.invalidArgument("send a JSON body") }
        let model = input.path.model
        let version = try RequestValidation.servingVersion(model: model, version: UInt64(clamping: body.version))
        let before = host.servingVersions[model]
        _ = try await host.setServingVersion(version, of: model)
        logger.notice("serving version changed by admin", metadata: [
            "model": "\(model)", "from": "\(before.map(String.init) ?? "none")", "to": "\(version)", "api": "http",
        ])
        return .ok(.init(body: .json(Wire.model(try host.describe(model: model)))))
    }

    public func listCandidates(_ input: Operations.ListCandidates.Input) async throws -> Operations.ListCandidates.Output {
        let query = input.query
        let page = try await loop.review.candidates(CandidateQuery(
            model: query.model ?? "", predictedLabel: query.label ?? "", boundaryOnly: query.boundaryOnly ?? false,
            order: query.order == .newest ? .newestFirst : .marginAscending,
            pageSize: Int(query.pageSize ?? 0), pageToken: query.pageToken ?? "", projection: query.projection == .tsne ? .tsne : .pca))
        return .ok(.init(body: .json(Wire.candidates(page))))
    }

    public func getThumbnail(_ input: Operations.GetThumbnail.Input) async throws -> Operations.GetThumbnail.Output {
        let thumbnail = try await loop.review.thumbnail(imageID: input.path.imageId, maxSide: Int(input.query.maxSide ?? 0))
        return .ok(.init(body: .jpeg(HTTPBody(thumbnail.jpeg))))
    }
}
