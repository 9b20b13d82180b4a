import BoundaryServer
import GRPCCore
import Logging
import Serving

/// Errors → HTTP status and body. The message and the code name come from the gRPC mapping
/// (``ErrorMapping``), so a client sees the same words on either API; only the number is HTTP's.
enum FailureMapping {
    static func failure(for error: any Error, operation: String, logger: Logger)
        -> (status: Int, body: Components.Schemas.Failure) {
        if let tooLarge = error as? BodyTooLarge {
            if let bytes = tooLarge.bytes {
                let refusal = RefusedMessage.tooLarge(declaredBytes: bytes, limit: tooLarge.limit)
                return (413, .init(code: .resourceExhausted, message: refusal.rpcError.message))
            }
            // Streamed without a length: how much more would have come is unknown.
            return (413, .init(code: .resourceExhausted, message: "request body exceeds the \(RefusedMessage.megabytes(tooLarge.limit)) "
                               + "limit; send a smaller image (the server's --max-request-mb)"))
        }
        let status = ErrorMapping.rpcError(for: error, method: OperationMethods.method(for: operation).method, logger: logger)
        if case .invalidImage(.tooManyBytes) = error as? ServingError {
            return (413, .init(code: .resourceExhausted, message: status.message))
        }
        return (httpStatus(status.code), .init(code: code(status.code), message: status.message))
    }

    static func httpStatus(_ code: RPCError.Code) -> Int {
        switch code {
        case .invalidArgument, .outOfRange: 400
        case .unauthenticated: 401
        case .permissionDenied: 403
        case .notFound: 404
        case .alreadyExists, .failedPrecondition, .aborted: 409
        case .resourceExhausted: 429
        case .unavailable, .cancelled: 503
        case .deadlineExceeded: 504
        default: 500
        }
    }

    static func code(_ code: RPCError.Code) -> Components.Schemas.Failure.CodePayload {
        switch code {
        case .invalidArgument, .outOfRange: .invalidArgument
        case .unauthenticated: .unauthenticated
        case .permissionDenied: .permissionDenied
        case .notFound: .notFound
        case .alreadyExists, .aborted: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .resourceExhausted: .resourceExhausted
        case .unavailable: .unavailable
        case .cancelled: .cancelled
        case .deadlineExceeded: .deadlineExceeded
        default: ._internal
        }
    }
}
