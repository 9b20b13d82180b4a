import Metrics

/// The serving runtime's metrics, created through an injected factory so each server (and each
/// test) can export to its own Prometheus registry instead of the process-global one.
///
/// Names follow Prometheus conventions; the executable configures histogram buckets by label.
public struct ServingMetrics: Sendable {
    public static let batchSizeLabel = "boundary_batch_size"
    public static let queueDepthLabel = "boundary_queue_depth"
    public static let inferenceDurationLabel = "boundary_inference_duration_seconds"
    public static let decodeDurationLabel = "boundary_decode_duration_seconds"
    public static let shedLabel = "boundary_requests_shed_total"
    public static let servingVersionLabel = "boundary_serving_version"

    let factory: any MetricsFactory
    /// Images per forward pass.
    let batchSize: Recorder
    /// Requests admitted and not yet answered.
    let queueDepth: Gauge
    /// One forward pass over a batch.
    let inferenceDuration: Timer
    /// Decode + preprocess of one image.
    let decodeDuration: Timer
    /// Requests refused with RESOURCE_EXHAUSTED because the queue was full.
    let shed: Counter

    public init(factory: any MetricsFactory) {
        self.factory = factory
        batchSize = Recorder(label: Self.batchSizeLabel, dimensions: [], aggregate: true, factory: factory)
        queueDepth = Gauge(label: Self.queueDepthLabel, dimensions: [], factory: factory)
        inferenceDuration = Timer(label: Self.inferenceDurationLabel, dimensions: [], factory: factory)
        decodeDuration = Timer(label: Self.decodeDurationLabel, dimensions: [], factory: factory)
        shed = Counter(label: Self.shedLabel, dimensions: [], factory: factory)
    }

    /// Records which version of `model` serves (a gauge per model).
    func recordServingVersion(_ version: Int, of model: String) {
        Gauge(label: Self.servingVersionLabel, dimensions: [("model", model)], factory: factory).record(version)
    }
}
