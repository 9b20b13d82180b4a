import BoundaryServer
import Testing

@Suite struct HealthStatusBoardTests {
    typealias Status = HealthStatusBoard.Status

    /// Drains a watch stream that the board is expected to finish.
    private func collect(_ stream: AsyncStream<Status>) async -> [Status] {
        var seen: [Status] = []
        for await status in stream { seen.append(status) }
        return seen
    }

    @Test func watchYieldsCurrentThenOnlyChangesThenShutdown() async {
        let board = HealthStatusBoard(initial: ["": .notServing])
        let stream = board.watch("")
        board.set(.notServing, for: "")  // unchanged: no update
        board.set(.serving, for: "")
        board.set(.serving, for: "")  // unchanged: no update
        board.shutdown()
        #expect(await collect(stream) == [.notServing, .serving, .notServing])
    }

    @Test(arguments: ["", "boundary.v1.Inference"])
    func statusReflectsLastSet(service: String) {
        let board = HealthStatusBoard(initial: [:])
        #expect(board.status(for: service) == nil)
        board.set(.serving, for: service)
        #expect(board.status(for: service) == .serving)
        board.set(.notServing, for: service)
        #expect(board.status(for: service) == .notServing)
    }

    @Test func shutdownMarksEverythingNotServingAndFreezesTheBoard() async {
        let board = HealthStatusBoard(initial: ["": .serving, "a": .serving, "b": .notServing])
        board.shutdown()
        board.set(.serving, for: "a")
        #expect(board.allStatuses() == ["": .notServing, "a": .notServing, "b": .notServing])
        // A watch started after shutdown reports the final status and ends at once.
        #expect(await collect(board.watch("a")) == [.notServing])
    }

    @Test func unknownServiceIsReportedAsServiceUnknownUntilRegistered() async {
        let board = HealthStatusBoard(initial: [:])
        let stream = board.watch("later")
        board.set(.serving, for: "later")
        board.shutdown()
        #expect(await collect(stream) == [.serviceUnknown, .serving, .notServing])
    }
}
