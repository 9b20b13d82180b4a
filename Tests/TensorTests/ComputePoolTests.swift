import Synchronization
import Testing
@testable import Tensor

/// The persistent worker crew behind `ComputePool`: every index runs exactly once per call, each
/// worker gets its own contiguous range, calls follow each other with and without idle gaps (the
/// helpers spin, then park), nested calls still complete, and a pool's threads end with it.
@Suite struct ComputePoolTests {
    @Test(arguments: [1, 2, 3, 5])
    func everyIndexRunsOnceWithDisjointWorkerRanges(threads: Int) async throws {
        let pool = ComputePool(threads: threads)
        for round in 0..<300 {
            let count = (round * 7) % 50 + 1
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            defer { hits.deallocate() }
            let owners = Mutex<[Int: Range<Int>]>([:])
            pool.forEachRange(count) { worker, range in
                for i in range { hits[i] += 1 }
                owners.withLock { $0[worker] = range }
            }
            #expect((0..<count).allSatisfy { hits[$0] == 1 }, "round \(round)")
            let ranges = owners.withLock { $0 }
            #expect(ranges.count == min(threads, count))
            #expect(ranges.keys.allSatisfy { $0 < threads })
            // Idle gaps longer than the spin period make the helpers park and wake again.
            if round % 100 == 99 { try await Task.sleep(for: .milliseconds(2)) }
        }
    }

    @Test func nestedCallsComplete() {
        let pool = ComputePool(threads: 2)
        let total = Mutex(0)
        pool.forEachRange(4) { _, outer in
            pool.forEachRange(10) { _, inner in
                total.withLock { $0 += outer.count * inner.count }
            }
        }
        #expect(total.withLock { $0 } == 4 * 10)
    }

    @Test func poolsComeAndGo() {
        for _ in 0..<50 {
            let pool = ComputePool(threads: 3)
            let sum = Mutex(0)
            pool.forEach(9) { _, index in sum.withLock { $0 += index } }
            #expect(sum.withLock { $0 } == 36)
        }
    }
}
