import GRPCCore

/// What happened to an RPC, decided once, so the status the client receives and the code the
/// metrics record are the same: a passed deadline is DEADLINE_EXCEEDED, a client that went away is
/// CANCELLED, size and load are RESOURCE_EXHAUSTED, and INTERNAL is left for real bugs.
///
/// grpc-swift reports a passed deadline, a client's RST_STREAM and the server's own shutdown all
/// through one cancellation handle, and a client that vanishes mid-request surfaces as whatever
/// the transport threw (often UNAVAILABLE); this type tells them apart by the RPC's own deadline
/// (its `grpc-timeout`) and whether the server is draining.
public enum CallOutcome {
    /// When a cancellation of the RPC being handled counts as its deadline passing (from its
    /// `grpc-timeout`, less `slack(for:)`), set by the interceptor.
    @TaskLocal static var deadline: ContinuousClock.Instant?

    /// A client's own deadline timer starts before the request crosses the network, and gRPC's
    /// server timer starts before the interceptor reads the clock, so a cancellation a little
    /// before the deadline as measured here is the deadline: 20 ms, or a tenth of the timeout.
    static func slack(for timeout: Duration) -> Duration {
        max(.milliseconds(20), timeout / 10)
    }

    /// The error a cancelled RPC ends with.
    static func cancellation(deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant = .now) -> RPCError {
        if let deadline, now >= deadline {
            return RPCError(code: .deadlineExceeded, message: "the request's deadline passed before the reply was ready")
        }
        return RPCError(code: .cancelled, message: "the client cancelled the request before it completed")
    }

    /// The status an RPC that threw `error` ends with. While the server is not draining, a cancelled
    /// RPC ends as a cancellation whatever the transport reported; during a drain the error stands
    /// (UNAVAILABLE is right for calls cut off by a shutdown).
    static func status(for error: any Error, cancelled: Bool, draining: Bool,
                       deadline: ContinuousClock.Instant?) -> RPCError {
        let rpcError = error as? RPCError
            ?? RPCError(code: .unknown, message: "the service threw an unexpected error", cause: error)
        if cancelled, !draining, rpcError.code != .resourceExhausted {
            return cancellation(deadline: deadline)
        }
        // A client that resets its stream at once can beat grpc-swift's cancellation handle,
        // which the transport attaches to the RPC asynchronously: then only the transport's own
        // error says the peer went away.
        if !draining, rpcError.code == .unavailable, rpcError.message.hasPrefix(transportClosedPrefix) {
            return cancellation(deadline: deadline)
        }
        if rpcError.code == .cancelled || rpcError.code == .deadlineExceeded || error is CancellationError {
            return cancellation(deadline: deadline)
        }
        if rpcError.code == .internalError, let message = clientFraming[rpcError.message] {
            return RPCError(code: .invalidArgument, message: message)
        }
        return rpcError
    }

    /// How grpc-swift-nio-transport words a stream the peer reset or dropped (pinned minor version).
    static let transportClosedPrefix = "Stream unexpectedly closed"

    /// grpc-swift reports a unary call that carried no message, or several, as INTERNAL with these
    /// messages; the mistake is the client's.
    static let clientFraming = [
        "Empty stream.": "the call ended without a request message; a unary method takes exactly one",
        "Too many messages.": "the call sent more than one request message; a unary method takes exactly one",
    ]

    /// Parses a `grpc-timeout` header value: 1 to 8 digits and a unit (H, M, S, m, u, n).
    public static func timeout(fromHeader value: String) -> Duration? {
        guard let unit = value.last, value.count >= 2, value.count <= 9,
              let amount = Int64(value.dropLast()), amount >= 0 else { return nil }
        switch unit {
        case "H": return .seconds(amount * 3600)
        case "M": return .seconds(amount * 60)
        case "S": return .seconds(amount)
        case "m": return .milliseconds(amount)
        case "u": return .microseconds(amount)
        case "n": return .nanoseconds(amount)
        default: return nil
        }
    }

    /// From when a cancellation counts as the deadline `metadata`'s `grpc-timeout` sets for an
    /// RPC: the deadline less its slack, measured from when the transport received the request's
    /// headers (`arrivalHeader`) or, without that stamp, from `start`.
    static func deadline(of metadata: Metadata, start: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard let header = metadata[stringValues: "grpc-timeout"].first(where: { _ in true }),
              let timeout = timeout(fromHeader: header) else { return nil }
        return (arrival(of: metadata) ?? start) + timeout - slack(for: timeout)
    }

    // MARK: Arrival stamp

    /// Set by the HTTP/2 transport on every request it passes to gRPC (any value a client sent is
    /// removed first): when the request's headers arrived, in nanoseconds from `clockOrigin`.
    /// The transport's body deadline starts then; under load the interceptor may run tens of
    /// milliseconds later, and measuring the deadline from there would call a passed deadline a
    /// cancellation.
    public static let arrivalHeader = "boundary-arrival-ns"

    /// The instant arrival stamps count from; one per process, like the stamps themselves.
    static let clockOrigin = ContinuousClock.now

    /// The header value for a request whose headers arrived at `instant`.
    public static func arrivalStamp(_ instant: ContinuousClock.Instant) -> String {
        let offset = (instant - clockOrigin).components
        return String(offset.seconds * 1_000_000_000 + offset.attoseconds / 1_000_000_000)
    }

    /// When the transport received the request `metadata` belongs to, if it said.
    static func arrival(of metadata: Metadata) -> ContinuousClock.Instant? {
        guard let value = metadata[stringValues: arrivalHeader].first(where: { _ in true }),
              let nanoseconds = Int64(value) else { return nil }
        return clockOrigin + .nanoseconds(nanoseconds)
    }
}
