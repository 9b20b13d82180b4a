import GRPCCore
import Metrics

/// Counts every RPC and times it, by method and final status code:
/// `boundary_rpc_requests_total{method, code}` and `boundary_rpc_duration_seconds{method, code}`.
///
/// The final status of a streaming response is only known once its producer finishes, so the
/// producer is wrapped; rejections (auth, routing) are recorded where they happen.
struct RPCMetricsInterceptor: ServerInterceptor {
    static let requestsLabel = "boundary_rpc_requests_total"
    static let durationLabel = "boundary_rpc_duration_seconds"
    let factory: any MetricsFactory

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let start = ContinuousClock.now
        let method = "\(context.descriptor.service)/\(context.descriptor.method)"
        let record: @Sendable (RPCError.Code?) -> Void = { code in
            let dimensions = [("method", method), ("code", Self.name(of: code))]
            Counter(label: Self.requestsLabel, dimensions: dimensions, factory: factory).increment()
            Timer(label: Self.durationLabel, dimensions: dimensions, factory: factory)
                .recordInterval(since: start)
        }
        var response: StreamingServerResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            record((error as? RPCError)?.code ?? .unknown)
            throw error
        }
        switch response.accepted {
        case .success(var contents):
            let producer = contents.producer
            contents.producer = { writer in
                do {
                    let trailers = try await producer(writer)
                    record(nil)
                    return trailers
                } catch {
                    record((error as? RPCError)?.code ?? .unknown)
                    throw error
                }
            }
            response.accepted = .success(contents)
        case .failure(let error):
            record(error.code)
        }
        return response
    }

    /// Status names as grpc-go and grpcurl print them ("OK", "NOT_FOUND", …).
    static func name(of code: RPCError.Code?) -> String {
        guard let code else { return "OK" }
        switch code {
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internalError: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        default: return "CODE_\(code.rawValue)"
        }
    }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
