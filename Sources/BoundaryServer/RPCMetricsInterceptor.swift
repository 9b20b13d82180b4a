import GRPCCore
import Metrics

/// Decides each RPC's final status once (`CallOutcome`) and records it, by method and code:
/// `boundary_rpc_requests_total{method, code}` and `boundary_rpc_duration_seconds{method, code}`.
/// The status it records is the status it returns, so the metrics never disagree with clients.
///
/// The final status of a streaming response is only known once its producer finishes, so the
/// producer is wrapped; rejections (auth, routing) are recorded where they happen. The RPC's
/// deadline is made available to the handler as `CallOutcome.deadline`.
struct RPCMetricsInterceptor: ServerInterceptor {
    static let requestsLabel = "boundary_rpc_requests_total"
    static let durationLabel = "boundary_rpc_duration_seconds"
    let factory: any MetricsFactory
    let drain: DrainState

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
        let deadline = CallOutcome.deadline(of: request.metadata, start: start)
        let drain = drain
        let settle: @Sendable (any Error) -> RPCError = { error in
            let status = CallOutcome.status(for: error, cancelled: context.cancellation.isCancelled,
                                            draining: drain.isDraining, deadline: deadline)
            record(status.code)
            return status
        }
        var response: StreamingServerResponse<Output>
        do {
            response = try await CallOutcome.$deadline.withValue(deadline) { try await next(request, context) }
        } catch {
            throw settle(error)
        }
        switch response.accepted {
        case .success(var contents):
            let producer = contents.producer
            contents.producer = { writer in
                do {
                    let trailers = try await CallOutcome.$deadline.withValue(deadline) { try await producer(writer) }
                    record(nil)
                    return trailers
                } catch {
                    throw settle(error)
                }
            }
            response.accepted = .success(contents)
        case .failure(let error):
            response.accepted = .failure(settle(error))
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
