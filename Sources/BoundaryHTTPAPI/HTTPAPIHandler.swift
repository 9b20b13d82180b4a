import BoundaryServer
import Foundation
import ImageSearch
import Logging
import OpenAPIRuntime
import Retraining
import Serving

/// The HTTP/JSON API's handlers (`APIProtocol`, generated from openapi/boundary.yaml). Each one maps
/// wire types to a domain call and back, nothing more: errors are thrown as they come from the
/// domain and ``HTTPAPIMiddleware`` turns them into the status and message the gRPC API gives.
public struct HTTPAPIHandler: APIProtocol {
    let host: ModelHost
    let predictor: Predictor
    let explainer: Explainer
    let loop: LearningLoop
    let search: ImageSearch
    let drain: DrainState
    let limits: HTTPBodyLimits
    /// How often the queue's event stream looks for changes.
    let queuePollInterval: Duration
    let logger: Logger

    /// The handlers over the same runtime the gRPC services of `builder` use.
    public init(builder: BoundaryServerBuilder, queuePollInterval: Duration = .seconds(1)) {
        host = builder.host
        predictor = builder.predictor
        explainer = builder.explainer
        loop = builder.loop
        search = builder.search
        drain = builder.drain
        limits = HTTPBodyLimits(builder.configuration)
        self.queuePollInterval = queuePollInterval
        logger = builder.logger
    }
}

/// Largest request bodies, by operation: one image (plus JSON fields) for most, many for a bulk upload.
public struct HTTPBodyLimits: Sendable {
    /// One encoded image.
    public var image: Int
    /// A request that carries at most one image's worth of bytes: the gRPC message limit.
    public var request: Int
    /// A bulk upload (`addImages`).
    public var bulk: Int
    /// Files one bulk upload may carry.
    public var bulkFiles: Int

    public init(_ configuration: BoundaryServerConfiguration) {
        image = configuration.maxImageBytes
        request = configuration.maxRequestMessageBytes
        bulk = configuration.maxImageBytes * 64
        bulkFiles = 1000
    }

    func bytes(forOperation operationID: String) -> Int {
        operationID == "addImages" ? bulk : request
    }
}
