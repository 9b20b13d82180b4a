import Foundation
import Metrics

/// What one request gets back from a batched forward pass.
public struct InferenceOutput: Sendable {
    /// Softmax probabilities [classes].
    public var probabilities: [Float]
    /// The embedding [E] (the final layer's input), when asked for.
    public var embedding: [Float]?
    /// How many requests shared the forward pass.
    public var batchSize: Int
    /// From enqueueing to the result, including the wait for the batch to fill.
    public var seconds: Double
}

/// Dynamic batching: requests for the same model snapshot are merged into one forward pass.
///
/// One dedicated thread runs the batched forward passes (each using `threads` cores), so inference
/// never runs on NIO event loops or Swift's cooperative pool. When the thread frees up it takes every
/// waiting request of the oldest request's snapshot, up to `maxBatchSize`. It waits up to
/// `maxBatchDelay` for a fuller batch only while admitted requests are still decoding, so a lone
/// request on an idle server runs at once and latency is not traded away at low load. A lone
/// request with nothing queued, running or decoding beside it runs on the thread that decoded it
/// (`inferInline`), skipping the hand-off to the batcher thread and back; so does every request on
/// a snapshot where batching does not pay (`ModelSnapshot.batchingPays`), one core each. A request
/// cancelled while queued (client gone, deadline passed) leaves the queue and never runs.
public final class BatchScheduler: @unchecked Sendable {
    public let maxBatchSize: Int
    public let maxBatchDelay: Duration
    public let threads: Int
    private let metrics: ServingMetrics
    private let condition = NSCondition()
    // Everything below is guarded by `condition`.
    private var queue: [Pending] = []
    private var incoming = 0
    private var nextID: UInt64 = 0
    private var started = false
    private var closed = false
    /// A forward pass is running on the batcher thread or inline on all cores: at most one at a time.
    private var running = false
    /// One-core passes running to completion on decode workers.
    private var runningAlone = 0
    private var batches = 0
    private var batchedRequests = 0
    private var windowWaits = 0

    public init(maxBatchSize: Int, maxBatchDelay: Duration, threads: Int, metrics: ServingMetrics) {
        self.maxBatchSize = maxBatchSize
        self.maxBatchDelay = maxBatchDelay
        self.threads = threads
        self.metrics = metrics
    }

    /// Announces a request that will call `infer` after decoding (or `withdraw` if decoding fails),
    /// so a forming batch knows more work is on its way.
    func announce() { locked { incoming += 1 } }

    func withdraw() {
        locked {
            incoming -= 1
            condition.signal()  // A forming batch may now be complete.
        }
    }

    /// Runs `input` (one preprocessed image [C, H, W]) through `snapshot` in the next batch.
    /// Balances one earlier `announce()`.
    func infer(_ input: [Float], on snapshot: ModelSnapshot, wantsEmbedding: Bool) async throws -> InferenceOutput {
        let id = locked { () -> UInt64 in nextID += 1; return nextID }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let pending = Pending(id: id, snapshot: snapshot, input: input, wantsEmbedding: wantsEmbedding,
                                      enqueued: DispatchTime.now().uptimeNanoseconds, continuation: continuation)
                condition.lock()
                incoming -= 1
                if closed {
                    condition.unlock()
                    continuation.resume(throwing: ServingError.shuttingDown)
                } else if Task.isCancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    queue.append(pending)
                    startIfNeeded()
                    condition.signal()
                    condition.unlock()
                }
            }
        } onCancel: {
            cancel(id)
        }
    }

    /// Runs one announced request's forward pass on the calling thread (a decode worker) when it
    /// need not wait for a batch, and returns nil otherwise, leaving the request announced for
    /// `infer`. Balances `announce()` when it runs.
    /// - The only request in the scheduler (nothing queued, running or still decoding) runs on all
    ///   `threads` cores.
    /// - Any other request on a snapshot where batching does not pay runs on this one core, beside
    ///   the other decode workers' passes.
    func inferInline(_ input: [Float], on snapshot: ModelSnapshot, wantsEmbedding: Bool) -> InferenceOutput? {
        let enqueued = DispatchTime.now().uptimeNanoseconds
        let claim = locked { () -> Runner? in
            guard !closed else { return nil }
            let runner: Runner
            if !running, runningAlone == 0, queue.isEmpty, incoming == 1 {
                running = true
                runner = .allCores
            } else if !snapshot.batchingPays {
                runningAlone += 1
                runner = .oneCore
            } else {
                return nil
            }
            incoming -= 1
            batches += 1
            batchedRequests += 1
            condition.signal()  // a batch forming while this request decoded need not wait for it
            return runner
        }
        guard let claim else { return nil }
        defer {
            locked {
                switch claim {
                case .allCores: running = false
                case .oneCore: runningAlone -= 1
                }
                condition.signal()  // the batcher may have found work queued meanwhile
            }
        }
        let result = forward([input], on: snapshot, wantsEmbedding: wantsEmbedding, runner: claim)
        return InferenceOutput(probabilities: result.probabilities, embedding: wantsEmbedding ? result.embeddings : nil,
                               batchSize: 1, seconds: Double(result.end - enqueued) / 1e9)
    }

    /// Takes no new requests; queued ones still run. The thread exits once the queue is empty.
    public func shutdown() {
        locked {
            closed = true
            condition.broadcast()
        }
    }

    /// Requests waiting for a forward pass.
    public var queuedCount: Int { locked { queue.count } }

    /// Forward passes run, requests they served (for the mean batch size), and how many batches
    /// waited for company within the batching window.
    public var statistics: (batches: Int, requests: Int, windowWaits: Int) {
        locked { (batches, batchedRequests, windowWaits) }
    }

    private func cancel(_ id: UInt64) {
        let removed: Pending? = locked {
            guard let index = queue.firstIndex(where: { $0.id == id }) else { return nil }
            return queue.remove(at: index)
        }
        removed?.continuation.resume(throwing: CancellationError())
    }

    private func startIfNeeded() {
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            WorkerPool.nameCurrentThread("boundary-batcher")
            self.loop()
        }
        thread.start()
    }

    private func loop() {
        while let batch = nextBatch() {
            run(batch)
            locked {
                running = false
                condition.signal()
            }
        }
    }

    /// Blocks until a batch is ready; nil once shut down and drained.
    private func nextBatch() -> [Pending]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while queue.isEmpty || running {
                if closed && queue.isEmpty { return nil }
                condition.wait()
            }
            let snapshot = queue[0].snapshot
            let deadline = queue[0].enqueued + UInt64(max(0, maxBatchDelay.nanoseconds))
            var waited = false
            while !closed, incoming > 0, count(of: snapshot) < maxBatchSize, !queue.isEmpty {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < deadline else { break }
                waited = true
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
            }
            // A cancellation may have emptied the queue, or removed the head, while waiting.
            if queue.isEmpty || (waited && queue[0].snapshot !== snapshot) { continue }
            var batch: [Pending] = []
            var rest: [Pending] = []
            for pending in queue {
                if batch.count < maxBatchSize, pending.snapshot === snapshot { batch.append(pending) } else { rest.append(pending) }
            }
            queue = rest
            running = true
            if waited { windowWaits += 1 }
            batches += 1
            batchedRequests += batch.count
            return batch
        }
    }

    private func count(of snapshot: ModelSnapshot) -> Int {
        queue.reduce(0) { $0 + ($1.snapshot === snapshot ? 1 : 0) }
    }

    /// One forward pass for `batch` (all on the same snapshot), then every caller gets its row.
    private func run(_ batch: [Pending]) {
        let snapshot = batch[0].snapshot
        let classes = snapshot.classCount
        let embeddingSize = snapshot.embeddingSize
        let result = forward(batch.map(\.input), on: snapshot, wantsEmbedding: batch.contains(where: \.wantsEmbedding),
                             runner: .allCores)
        for (row, pending) in batch.enumerated() {
            let output = InferenceOutput(
                probabilities: Array(result.probabilities[row * classes ..< (row + 1) * classes]),
                embedding: pending.wantsEmbedding ? Array(result.embeddings[row * embeddingSize ..< (row + 1) * embeddingSize]) : nil,
                batchSize: batch.count, seconds: Double(result.end - pending.enqueued) / 1e9)
            pending.continuation.resume(returning: output)
        }
    }

    /// The forward pass itself: inputs [C, H, W] each → probabilities [N, classes] and, when asked
    /// for, embeddings [N, E]. `.allCores` callers hold `running`, so the snapshot's shared sessions
    /// are never used by two passes at once; `.oneCore` passes each take a session of their own.
    private func forward(_ inputs: [[Float]], on snapshot: ModelSnapshot, wantsEmbedding: Bool, runner: Runner)
        -> (probabilities: [Float], embeddings: [Float], end: UInt64) {
        let perImage = snapshot.preprocess.floatsPerImage
        var input = [Float](repeating: 0, count: inputs.count * perImage)
        input.withUnsafeMutableBufferPointer { buffer in
            for (row, image) in inputs.enumerated() {
                image.withUnsafeBufferPointer { source in
                    (buffer.baseAddress! + row * perImage).update(from: source.baseAddress!, count: perImage)
                }
            }
        }
        var probabilities = [Float](repeating: 0, count: inputs.count * snapshot.classCount)
        var embeddings = [Float](repeating: 0, count: wantsEmbedding ? inputs.count * snapshot.embeddingSize : 0)
        let start = DispatchTime.now().uptimeNanoseconds
        input.withUnsafeBufferPointer { input in
            probabilities.withUnsafeMutableBufferPointer { probabilities in
                embeddings.withUnsafeMutableBufferPointer { embeddings in
                    let embeddings = wantsEmbedding ? embeddings.baseAddress! : nil
                    switch runner {
                    case .allCores:
                        snapshot.run(input.baseAddress!, batch: inputs.count, threads: threads,
                                     probabilities: probabilities.baseAddress!, embeddings: embeddings)
                    case .oneCore:
                        snapshot.runAlone(input.baseAddress!, probabilities: probabilities.baseAddress!, embeddings: embeddings)
                    }
                }
            }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        metrics.batchSize.record(inputs.count)
        metrics.inferenceDuration.recordNanoseconds(Int64(end - start))
        return (probabilities, embeddings, end)
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    /// How a forward pass runs: on the scheduler's `threads` cores, or on the calling thread alone.
    private enum Runner {
        case allCores
        case oneCore
    }

    private struct Pending {
        let id: UInt64
        let snapshot: ModelSnapshot
        let input: [Float]
        let wantsEmbedding: Bool
        let enqueued: UInt64
        let continuation: CheckedContinuation<InferenceOutput, any Error>
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
