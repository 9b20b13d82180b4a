import Testing
@testable import Serving

/// The decode and load workers: results come back, and a finished job keeps nothing alive (its
/// captures can be a whole model snapshot, which must be freed as soon as a swap replaces it).
@Suite struct WorkerPoolTests {
    final class Payload: Sendable {}

    final class WeakPayload: @unchecked Sendable {
        weak var value: Payload?
        init(_ value: Payload) { self.value = value }
    }

    @Test func runsJobsAndReturnsTheirResults() async throws {
        let pool = WorkerPool(name: "test", workers: 2)
        defer { pool.shutdown() }
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<20 { group.addTask { try await pool.run { i * i } } }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(results == Set((0..<20).map { $0 * $0 }))
    }

    @Test func finishedJobsReleaseWhatTheyCaptured() async throws {
        let pool = WorkerPool(name: "test", workers: 1)
        defer { pool.shutdown() }
        var watched: [WeakPayload] = []
        for _ in 0..<5 {
            let payload = Payload()
            watched.append(WeakPayload(payload))
            _ = try await pool.run { payload === payload }
        }
        #expect(watched.allSatisfy { $0.value == nil }, "a finished job's captures are still alive")
    }
}
