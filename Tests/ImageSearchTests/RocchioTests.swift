import Testing
@testable import ImageSearch

@Suite struct RocchioTests {
    @Test func movesTowardRelevantAndAwayFromNotRelevant() {
        let rocchio = Rocchio(alpha: 1, beta: 0.5, gamma: 0.25)
        let updated = rocchio.update([1, 0], relevant: [[0, 1], [0, 3]], notRelevant: [[4, 0]], dimension: 2)
        // 1·[1, 0] + 0.5·[0, 2] − 0.25·[4, 0]
        #expect(updated == [0, 1])
    }

    @Test func startsFromTheMarksAlone() {
        #expect(Rocchio(alpha: 1, beta: 0.75, gamma: 0.15).update([], relevant: [[2, 0]], notRelevant: [], dimension: 2) == [1.5, 0])
        #expect(Rocchio().update([], relevant: [], notRelevant: [[1, 1]], dimension: 2).isEmpty)
        #expect(Rocchio().update([0, 1], relevant: [[1, 0], [1, 0]], notRelevant: [[0, 1]], dimension: 2) == [1, 0])
        #expect(Rocchio(alpha: 1, beta: 1, gamma: 1).update([1, 0], relevant: [], notRelevant: [[1, 0]], dimension: 2).isEmpty)
    }
}
