import BoundaryServer
import Synchronization

enum EventStreams {
    /// `source` passed on until it ends or the server begins to drain, whichever comes first, so an
    /// open event stream never holds a graceful shutdown open. A client that goes away cancels the
    /// forwarding.
    static func untilDrain<Element: Sendable>(_ source: AsyncStream<Element>, drain: DrainState) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self)
        let forwarding = Task {
            for await element in source { continuation.yield(element) }
            continuation.finish()
        }
        let observer = Mutex<UInt64?>(nil)
        continuation.onTermination = { _ in
            forwarding.cancel()
            drain.cancelObserver(observer.withLock { $0 })
        }
        let key = drain.onBegin { continuation.finish() }
        observer.withLock { $0 = key }
        return stream
    }
}
