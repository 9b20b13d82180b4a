import BoundaryTestSupport
import Foundation
import Imaging
import Metrics
import Testing
import Training
@testable import Serving

@Suite struct BatchSchedulerTests {
    static func snapshot(seed: UInt64 = 1) throws -> (ModelSnapshot, URL) {
        let directory = try Fixtures.temporaryDirectory().appendingPathComponent("model")
        let network = try Fixtures.writeTinyModel(to: directory, seed: seed)
        return (ModelSnapshot(name: "tiny", version: 1, model: network.inferenceModel(), boundaryThreshold: 0.2), directory)
    }

    static func input(for image: Data, snapshot: ModelSnapshot) throws -> [Float] {
        var input = [Float](repeating: 0, count: snapshot.preprocess.floatsPerImage)
        try input.withUnsafeMutableBufferPointer { buffer in
            try Preprocessor.preprocess([UInt8](image), spec: snapshot.preprocess, into: buffer.baseAddress!)
        }
        return input
    }

    /// Concurrent requests announced together run as one forward pass, and each caller gets the
    /// probabilities its own image has when run alone.
    @Test(arguments: [2, 7, 16])
    func concurrentRequestsShareOneBatchAndGetTheirOwnRows(count: Int) async throws {
        let (snapshot, directory) = try Self.snapshot()
        let scheduler = BatchScheduler(maxBatchSize: 32, maxBatchDelay: .seconds(1), threads: 2,
                                       metrics: ServingMetrics(factory: NOOPMetricsHandler.instance))
        defer { scheduler.shutdown() }
        let images = try (0..<count).map { try Fixtures.jpeg(seed: UInt64($0) + 1) }
        for _ in images { scheduler.announce() }
        let outputs = try await withThrowingTaskGroup(of: (Int, InferenceOutput).self) { group in
            for (index, image) in images.enumerated() {
                let input = try Self.input(for: image, snapshot: snapshot)
                group.addTask { (index, try await scheduler.infer(input, on: snapshot, wantsEmbedding: index == 0)) }
            }
            return try await group.reduce(into: [Int: InferenceOutput]()) { $0[$1.0] = $1.1 }
        }
        #expect(scheduler.statistics.batches == 1)
        #expect(scheduler.statistics.requests == count)
        for (index, image) in images.enumerated() {
            let expected = try Fixtures.referenceProbabilities(model: directory, image: image)
            let got = try #require(outputs[index])
            #expect(got.batchSize == count)
            #expect(zip(got.probabilities, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "row \(index) belongs to its caller")
            #expect((got.embedding?.count ?? 0) == (index == 0 ? snapshot.embeddingSize : 0))
        }
    }

    /// An idle scheduler does not wait for company: a lone request runs at once even with a long
    /// batching window.
    @Test func loneRequestDoesNotWaitForTheBatchWindow() async throws {
        let (snapshot, _) = try Self.snapshot()
        let scheduler = BatchScheduler(maxBatchSize: 32, maxBatchDelay: .seconds(5), threads: 1,
                                       metrics: ServingMetrics(factory: NOOPMetricsHandler.instance))
        defer { scheduler.shutdown() }
        let input = try Self.input(for: try Fixtures.jpeg(), snapshot: snapshot)
        scheduler.announce()
        let output = try await scheduler.infer(input, on: snapshot, wantsEmbedding: false)
        #expect(output.batchSize == 1)
        #expect(scheduler.statistics.windowWaits == 0, "nothing else was on its way, so nothing to wait for")
    }

    /// A lone request runs on the calling thread (no hand-off to the batcher), with the same
    /// probabilities; with another request still decoding it is left to the batcher.
    @Test func loneRequestRunsInlineOnlyWhenNothingElseIsOnItsWay() async throws {
        let (snapshot, directory) = try Self.snapshot()
        let scheduler = BatchScheduler(maxBatchSize: 32, maxBatchDelay: .milliseconds(50), threads: 2,
                                       metrics: ServingMetrics(factory: NOOPMetricsHandler.instance))
        defer { scheduler.shutdown() }
        let image = try Fixtures.jpeg(seed: 3)
        let input = try Self.input(for: image, snapshot: snapshot)
        scheduler.announce()
        let output = try #require(scheduler.inferInline(input, on: snapshot, wantsEmbedding: true))
        let expected = try Fixtures.referenceProbabilities(model: directory, image: image)
        #expect(output.batchSize == 1)
        #expect(output.embedding?.count == snapshot.embeddingSize)
        #expect(zip(output.probabilities, expected).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(scheduler.statistics.batches == 1 && scheduler.statistics.requests == 1)
        #expect(scheduler.queuedCount == 0)

        scheduler.announce()
        scheduler.announce()  // a second request is still decoding: this one must wait for the batcher
        #expect(scheduler.inferInline(input, on: snapshot, wantsEmbedding: false) == nil)
        scheduler.withdraw()
        let queued = try await scheduler.infer(input, on: snapshot, wantsEmbedding: false)
        #expect(zip(queued.probabilities, expected).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(scheduler.statistics.batches == 2 && scheduler.statistics.requests == 2)
    }

    /// On a snapshot where batching does not pay, requests that are not alone still run on their
    /// callers' threads, several at once, each on a session of its own and with its own image's
    /// probabilities; the same requests on a snapshot where batching pays are left to the batcher.
    @Test func requestsRunSideBySideWhenBatchingDoesNotPay() async throws {
        let (batched, directory) = try Self.snapshot()
        let alone = ModelSnapshot(name: "tiny", version: 1, model: batched.model, boundaryThreshold: 0.2, batchingPays: false)
        let scheduler = BatchScheduler(maxBatchSize: 32, maxBatchDelay: .seconds(5), threads: 2,
                                       metrics: ServingMetrics(factory: NOOPMetricsHandler.instance))
        defer { scheduler.shutdown() }
        let images = try (0..<6).map { try Fixtures.jpeg(seed: UInt64($0) + 1) }
        let inputs = try images.map { try Self.input(for: $0, snapshot: alone) }
        for _ in images { scheduler.announce() }  // all six at once: none of them is alone...
        scheduler.announce()  // ...not even the last to run: a seventh is still "decoding"
        let outputs = try await withThrowingTaskGroup(of: (Int, InferenceOutput?).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask { (index, scheduler.inferInline(input, on: alone, wantsEmbedding: index % 2 == 0)) }
            }
            return try await group.reduce(into: [Int: InferenceOutput]()) { $0[$1.0] = $1.1 }
        }
        #expect(scheduler.statistics.batches == 6 && scheduler.statistics.requests == 6)
        #expect(scheduler.queuedCount == 0)
        let sessions = alone.sessionCounts
        #expect(sessions.shared == 0 && sessions.spare >= 1, "one-core passes ran on sessions of their own, not the shared ones")
        for (index, image) in images.enumerated() {
            let got = try #require(outputs[index], "request \(index) ran on its caller's thread")
            let expected = try Fixtures.referenceProbabilities(model: directory, image: image)
            #expect(got.batchSize == 1)
            #expect(zip(got.probabilities, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "request \(index) got its own image's row")
            #expect((got.embedding?.count ?? 0) == (index % 2 == 0 ? alone.embeddingSize : 0))
        }

        scheduler.withdraw()  // the seventh
        scheduler.announce()
        scheduler.announce()
        #expect(scheduler.inferInline(inputs[0], on: batched, wantsEmbedding: false) == nil)
        #expect(scheduler.inferInline(inputs[1], on: alone, wantsEmbedding: false)?.batchSize == 1)
        scheduler.withdraw()
        #expect(scheduler.statistics.requests == 7)
    }

    /// The probe times passes as positive durations and never probes a model that cannot batch.
    /// Requests go alone only when a batch saves under 5% an image and a one-core pass fits in the
    /// batching window.
    @Test func batchingProbeTimesPassesAndDemandsASaving() throws {
        let (snapshot, _) = try Self.snapshot()
        #expect(BatchingProbe.measure(small: snapshot.model, large: snapshot.model, maxBatch: 1) == nil)
        let probe = try #require(BatchingProbe.measure(small: snapshot.model, large: snapshot.model, maxBatch: 32))
        #expect(probe.batch == BatchingProbe.probeBatch)
        let saves = BatchingProbe.Measurement(batch: 8, aloneSeconds: 0.001, batchedSeconds: 0.0009)
        let savesLittle = BatchingProbe.Measurement(batch: 8, aloneSeconds: 0.001, batchedSeconds: 0.00097)
        #expect(saves.batchSaves && saves.prefersBatching(window: .milliseconds(2)))
        #expect("\(saves)" == "1.00 ms an image alone, 0.90 in a batch of 8, one core")
        #expect(!savesLittle.batchSaves, "a 3% saving is not worth a wait")
        #expect(!savesLittle.prefersBatching(window: .milliseconds(2)), "a 1 ms pass fits in a 2 ms window: alone")
        #expect(savesLittle.prefersBatching(window: .microseconds(500)), "a 1 ms pass is longer than a 0.5 ms window: batch")
        #expect(probe.aloneSeconds > 0 && probe.aloneSeconds < 1 && probe.batchedSeconds > 0 && probe.batchedSeconds < 1)
    }

    /// A request cancelled while it waits for its batch leaves the queue and never runs.
    @Test func cancelledRequestLeavesTheQueue() async throws {
        let (snapshot, _) = try Self.snapshot()
        let scheduler = BatchScheduler(maxBatchSize: 32, maxBatchDelay: .seconds(30), threads: 1,
                                       metrics: ServingMetrics(factory: NOOPMetricsHandler.instance))
        defer { scheduler.shutdown() }
        let input = try Self.input(for: try Fixtures.jpeg(), snapshot: snapshot)
        scheduler.announce()  // A phantom request still "decoding" holds the batch window open.
        scheduler.announce()
        let task = Task { try await scheduler.infer(input, on: snapshot, wantsEmbedding: false) }
        while scheduler.queuedCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(scheduler.queuedCount == 0)
        #expect(scheduler.statistics.batches == 0, "the cancelled request never ran")
        scheduler.withdraw()
    }

    @Test func shutDownSchedulerRefusesNewWork() async throws {
        let (snapshot, _) = try Self.snapshot()
        let scheduler = BatchScheduler(maxBatchSize: 4, maxBatchDelay: .zero, threads: 1,
                                       metrics: ServingMetrics(factory: NOOPMetricsHandler.instance))
        scheduler.shutdown()
        scheduler.announce()
        await #expect(throws: ServingError.shuttingDown) {
            try await scheduler.infer([Float](repeating: 0, count: snapshot.preprocess.floatsPerImage),
                                      on: snapshot, wantsEmbedding: false)
        }
    }
}
