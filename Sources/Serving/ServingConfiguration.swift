import Foundation

/// How the serving runtime uses the machine. Defaults suit a small host: every core for the forward
/// pass, as many decode workers, batches of up to 32 gathered for at most 2 ms where a version's
/// probe finds batching pays.
public struct ServingConfiguration: Sendable {
    /// Most requests merged into one forward pass.
    public var maxBatchSize: Int
    /// Longest a request waits for others to join its batch. Only spent when more requests are
    /// already on their way (decoding); an idle server runs a lone request at once.
    public var maxBatchDelay: Duration
    /// Requests admitted but not yet answered (decoding, queued or running) before new ones are
    /// refused with RESOURCE_EXHAUSTED.
    public var queueLimit: Int
    /// Threads of one forward pass.
    public var inferenceThreads: Int
    /// Threads that decode and preprocess images; where batching does not pay, each also runs its
    /// requests' forward passes, on one core.
    public var decodeWorkers: Int
    /// Whether requests under load wait to share a batched forward pass.
    public var batching: BatchingPolicy
    /// The margin under which a prediction is flagged as a boundary case, unless a version's
    /// lineage sets `boundary_threshold`.
    public var boundaryThreshold: Float
    /// The model used when a request names none; nil means the only model, or the first by name.
    public var defaultModel: String?
    /// Versions other than the serving one kept loaded per model (for pinned-version requests).
    public var extraVersionsPerModel: Int
    /// Time each convolution's algorithms when a version loads and keep the fastest (a fraction of
    /// a second per version; off only where load time matters more than speed).
    public var tuneKernels: Bool

    public init(maxBatchSize: Int = 32, maxBatchDelay: Duration = .milliseconds(2), queueLimit: Int = 256,
                inferenceThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
                decodeWorkers: Int = ProcessInfo.processInfo.activeProcessorCount, batching: BatchingPolicy = .auto,
                boundaryThreshold: Float = 0.2, defaultModel: String? = nil, extraVersionsPerModel: Int = 2,
                tuneKernels: Bool = ServingConfiguration.tuneKernelsByDefault) {
        self.maxBatchSize = maxBatchSize
        self.maxBatchDelay = maxBatchDelay
        self.queueLimit = queueLimit
        self.inferenceThreads = inferenceThreads
        self.decodeWorkers = decodeWorkers
        self.batching = batching
        self.boundaryThreshold = boundaryThreshold
        self.defaultModel = defaultModel
        self.extraVersionsPerModel = extraVersionsPerModel
        self.tuneKernels = tuneKernels
    }

    /// Release builds tune; debug builds don't, since timings of unoptimised kernels choose nothing
    /// useful and make every model load take seconds.
    #if DEBUG
    public static let tuneKernelsByDefault = false
    #else
    public static let tuneKernelsByDefault = true
    #endif

    /// Checks the values a person typed, naming the flag-level setting that is wrong.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw ServingError.invalidConfiguration(message) }
        }
        try check((1...1024).contains(maxBatchSize), "max batch size must be 1...1024, got \(maxBatchSize)")
        try check(maxBatchDelay >= .zero && maxBatchDelay <= .seconds(10), "max batch delay must be 0...10000 ms")
        try check(queueLimit >= 1, "queue limit must be at least 1, got \(queueLimit)")
        try check((1...256).contains(inferenceThreads), "inference threads must be 1...256, got \(inferenceThreads)")
        try check((1...256).contains(decodeWorkers), "decode workers must be 1...256, got \(decodeWorkers)")
        try check((0...1).contains(boundaryThreshold), "boundary threshold must be in [0, 1], got \(boundaryThreshold)")
    }
}

/// Whether requests under load share batched forward passes or run alone.
public enum BatchingPolicy: String, Sendable, CaseIterable {
    /// Batch unless a version's load-time probe (`BatchingProbe`) finds batched passes no cheaper
    /// per image and a one-core pass within the batching window; builds that do not tune kernels
    /// (debug) always batch.
    case auto
    /// Always batch, as TF Serving's and Triton's dynamic batching do.
    case always
    /// Never: each request runs to completion on its decode worker, one core each.
    case never
}
