import Hummingbird
import Prometheus

/// `GET /metrics`: the Prometheus text exposition of the process's registry.
enum MetricsRoute {
    /// The content type Prometheus scrapers negotiate for the text exposition format 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func register<Context: RequestContext>(on router: Router<Context>, registry: PrometheusCollectorRegistry) {
        router.get("/metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(status: .ok, headers: [.contentType: contentType, .contentLength: String(bytes.count)],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
