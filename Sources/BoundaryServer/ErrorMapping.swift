import GRPCCore
import ImageSearch
import Logging
import Retraining
import Serving

/// Domain errors → gRPC status. Each domain case maps to exactly one code and carries its own
/// actionable message; anything unexpected becomes INTERNAL with a generic message (the details go
/// to the server log, never to the client).
public enum ErrorMapping {
    public static func rpcError(for error: any Error, method: String, logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as ServingError:
            return RPCError(code: code(for: error), message: error.description)
        case let error as RetrainingError:
            switch error {
            case .keyReused: return RPCError(code: .alreadyExists, message: error.description)
            case .quotaExceeded: return RPCError(code: .resourceExhausted, message: error.description)
            case .imagesGone: return RPCError(code: .notFound, message: error.description)
            case .storage(let detail):
                logger.error("feedback store failure", metadata: ["method": "\(method)", "error": "\(detail)"])
                return RPCError(code: .internalError, message: error.description)
            }
        case let error as SearchError:
            switch error {
            case .notIndexed, .unknownQuery: return RPCError(code: .notFound, message: error.description)
            case .rebuilding, .loading: return RPCError(code: .unavailable, message: error.description)
            case .keyReused: return RPCError(code: .alreadyExists, message: error.description)
            }
        case let error as RegistryError:
            switch error {
            case .invalidName: return RPCError(code: .invalidArgument, message: error.description)
            case .unknownVersion: return RPCError(code: .notFound, message: error.description)
            }
        case is CancellationError:
            return CallOutcome.cancellation(deadline: CallOutcome.deadline)  // The same words the metrics' decision uses.
        default:
            logger.error("internal error", metadata: ["method": "\(method)", "error": "\(String(reflecting: error))"])
            return RPCError(code: .internalError, message: "internal server error; the server log has the details")
        }
    }

    public static func code(for error: ServingError) -> RPCError.Code {
        switch error {
        case .unknownModel, .unknownVersion, .unknownImages: .notFound
        case .unknownLabel: .invalidArgument
        case .retrainRunning: .alreadyExists
        case .noRetrain: .notFound
        case .noModels, .shuttingDown: .unavailable
        case .invalidArgument, .invalidConfiguration: .invalidArgument
        case .overloaded: .resourceExhausted
        case .loadFailed, .retrainsRunElsewhere: .failedPrecondition
        case .invalidImage(let imaging):
            switch imaging {
            case .tooManyBytes: .resourceExhausted
            case .codecFailure: .internalError
            case .unsupportedFormat, .corrupt, .tooLarge, .empty, .invalidArgument: .invalidArgument
            }
        }
    }
}
