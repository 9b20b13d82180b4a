import BoundaryAPI
import GRPCCore
import Logging
import Serving

/// `boundary.v1.Models`: the registry as clients see it, and the admin swap (promote/roll back).
struct ModelsService: Boundary_V1_Models.SimpleServiceProtocol {
    let host: ModelHost
    let logger: Logger

    func listModels(request: Boundary_V1_ListModelsRequest, context: ServerContext) async throws -> Boundary_V1_ListModelsResponse {
        try mapped("ListModels") {
            var reply = Boundary_V1_ListModelsResponse()
            reply.models = try host.describeAll().map(Self.info)
            return reply
        }
    }

    func getModel(request: Boundary_V1_GetModelRequest, context: ServerContext) async throws -> Boundary_V1_ModelInfo {
        try mapped("GetModel") { Self.info(try host.describe(model: request.model)) }
    }

    func setServingVersion(request: Boundary_V1_SetServingVersionRequest, context: ServerContext) async throws -> Boundary_V1_ModelInfo {
        do {
            let version = try RequestValidation.servingVersion(model: request.model, version: request.version)
            let before = host.servingVersions[request.model]
            _ = try await host.setServingVersion(version, of: request.model)
            logger.notice("serving version changed by admin", metadata: [
                "model": "\(request.model)", "from": "\(before.map(String.init) ?? "none")", "to": "\(request.version)",
                "peer": "\(context.remotePeer)",
            ])
            return Self.info(try host.describe(model: request.model))
        } catch {
            throw ErrorMapping.rpcError(for: error, method: "SetServingVersion", logger: logger)
        }
    }

    private func mapped<T>(_ method: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw ErrorMapping.rpcError(for: error, method: method, logger: logger) }
    }

    static func info(_ description: ModelDescription) -> Boundary_V1_ModelInfo {
        var info = Boundary_V1_ModelInfo()
        info.name = description.name
        info.architecture = description.spec.name
        info.labels = description.spec.labels
        var input = Boundary_V1_InputSpec()
        let spec = description.spec.input
        input.channels = UInt32(spec.channels)
        input.height = UInt32(spec.height)
        input.width = UInt32(spec.width)
        input.resize = spec.resize.rawValue
        input.mean = spec.mean
        input.std = spec.std
        info.input = input
        info.servingVersion = UInt64(description.servingVersion)
        info.boundaryThreshold = description.boundaryThreshold
        info.versions = description.versions.map { version in
            var proto = Boundary_V1_VersionInfo()
            proto.version = UInt64(version.version)
            proto.parent = UInt64(version.record.parent ?? 0)
            proto.createdAt = version.record.createdAt
            proto.metrics = version.metrics
            proto.serving = version.isServing
            proto.lineage = version.record.lineage
            return proto
        }
        return info
    }
}
