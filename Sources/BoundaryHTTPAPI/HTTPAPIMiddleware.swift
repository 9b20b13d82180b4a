import BoundaryServer
import Foundation
import HTTPTypes
import Logging
import Metrics
import OpenAPIRuntime
import Serving
import Training

/// Runs around every operation: the bearer-token check (the same ``BearerAuthorizer`` as gRPC, by
/// the operation's gRPC method), the body-size limit, and the mapping of every failure to a JSON
/// error with an HTTP status. Nothing thrown reaches the HTTP server as a bare 500. Each request is
/// counted as `boundary_http_requests_total{operation, status}` and timed to its response head as
/// `boundary_http_duration_seconds{operation, status}` (an event stream's body is not timed).
public struct HTTPAPIMiddleware: ServerMiddleware {
    static let requestsLabel = "boundary_http_requests_total"
    static let durationLabel = "boundary_http_duration_seconds"
    let authorizer: BearerAuthorizer?
    let limits: HTTPBodyLimits
    let metrics: any MetricsFactory
    let logger: Logger

    /// `authorizer` nil: authentication is off, as on the gRPC port.
    public init(authorizer: BearerAuthorizer?, limits: HTTPBodyLimits, metrics: any MetricsFactory, logger: Logger) {
        self.authorizer = authorizer
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
    }

    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let start = ContinuousClock.now
        let (response, responseBody) = await respond(request, body: body, metadata: metadata, operationID: operationID, next: next)
        let dimensions = [("operation", operationID), ("status", String(response.status.code))]
        Counter(label: Self.requestsLabel, dimensions: dimensions, factory: metrics).increment()
        Timer(label: Self.durationLabel, dimensions: dimensions, factory: metrics).record(duration: ContinuousClock.now - start)
        return (response, responseBody)
    }

    private func respond(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async -> (HTTPResponse, HTTPBody?) {
        do {
            let caller = try authorizer?.authorize(authorization: request.headerFields[values: .authorization],
                                                   method: OperationMethods.method(for: operationID))
            let limit = limits.bytes(forOperation: operationID)
            if let declared = request.headerFields[.contentLength].flatMap(Int.init), declared > limit {
                throw BodyTooLarge(limit: limit, bytes: declared)
            }
            let limited = body.map { HTTPBodyLimit.limited($0, to: limit) }
            var (response, responseBody) = try await Caller.$current.withValue(caller) {
                try await next(request, limited, metadata)
            }
            if operationID == "getThumbnail", response.status == .ok {
                // Image ids name content, so a thumbnail never changes.
                response.headerFields[.cacheControl] = "private, max-age=86400, immutable"
            }
            if response.headerFields[.contentType]?.hasPrefix("text/event-stream") == true {
                response.headerFields[.cacheControl] = "no-cache"
            }
            return (response, responseBody)
        } catch {
            return failureResponse(error, operationID: operationID)
        }
    }

    func failureResponse(_ error: any Error, operationID: String) -> (HTTPResponse, HTTPBody?) {
        let status: Int
        let failure: Components.Schemas.Failure
        if let serverError = error as? ServerError {
            if serverError.operationInput == nil, !(serverError.underlyingError is BodyTooLarge) {
                // The request never became an operation's input: it does not match the API.
                (status, failure) = (400, .init(code: .invalidArgument, message: RequestProblem.describe(serverError)))
            } else {
                (status, failure) = FailureMapping.failure(for: serverError.underlyingError, operation: operationID, logger: logger)
            }
        } else {
            (status, failure) = FailureMapping.failure(for: error, operation: operationID, logger: logger)
        }
        var response = HTTPResponse(status: .init(code: status))
        response.headerFields[.contentType] = "application/json; charset=utf-8"
        if status == 429 || status == 503 { response.headerFields[.retryAfter] = "1" }
        if status == 401 { response.headerFields[.wwwAuthenticate] = "Bearer" }
        let encoded = (try? JSONEncoder().encode(failure)) ?? Data(#"{"code":"internal","message":"internal server error"}"#.utf8)
        return (response, HTTPBody(encoded))
    }
}

/// Why a request could not be read as its operation's input, in words a client can act on: the
/// JSON field at fault (by its wire name) rather than a decoder's dump.
enum RequestProblem {
    static func describe(_ error: ServerError) -> String {
        let detail: String
        switch error.underlyingError {
        case let decoding as DecodingError:
            detail = describe(decoding)
        default:
            let underlying = "\(error.underlyingError)"
            detail = error.causeDescription.contains(underlying) || error.causeDescription == "Unknown"
                ? (error.causeDescription == "Unknown" ? underlying : error.causeDescription)
                : "\(error.causeDescription): \(underlying)"
        }
        let text = "the request does not match the API (openapi/boundary.yaml): " + detail
        return text.count > 400 ? String(text.prefix(400)) + "…" : text
    }

    /// A query parameter outside its enum reaches us as the generated type's complaint, with no
    /// coding path ("Cannot initialize ProjectionPayload from invalid String value umap"): the
    /// type names the parameter, which is what the client needs to hear.
    static func queryEnumProblem(_ description: String) -> String? {
        let prefix = "Cannot initialize ", middle = "Payload from invalid String value "
        guard description.hasPrefix(prefix), let range = description.range(of: middle) else { return nil }
        let type = description[description.index(description.startIndex, offsetBy: prefix.count)..<range.lowerBound]
        guard let first = type.first else { return nil }
        var name = String(first).lowercased()
        for character in type.dropFirst() { name += character.isUppercase ? "_" + character.lowercased() : String(character) }
        return "query parameter '\(name)' cannot be \(EchoedValue.quoted(String(description[range.upperBound...]))); "
            + "its values are listed in openapi/boundary.yaml"
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the body" : "'" + keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is missing"
        case .valueNotFound(_, let context): return "\(path(context.codingPath)) is null"
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)) is not a \(type)"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty, let parameter = queryEnumProblem(context.debugDescription) { return parameter }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
