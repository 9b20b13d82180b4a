import BoundaryAPI
import BoundaryServer
import GRPCCore
import Testing

@Suite struct HealthServiceTests {
    typealias Status = HealthStatusBoard.Status

    private func request(_ service: String) -> Grpc_Health_V1_HealthCheckRequest {
        .with { $0.service = service }
    }

    @Test func watchSeesNotServingThenServing() async throws {
        let board = HealthStatusBoard(initial: ["": .notServing])
        let seen = try await withInProcessServer(services: [HealthService(board: board)]) { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).watch(request("")) { response in
                var seen: [Status] = []
                for try await message in response.messages {
                    seen.append(message.status)
                    if seen.count == 1 { board.set(.serving, for: "") }
                    if seen.count == 2 { break }
                }
                return seen
            }
        }
        #expect(seen == [.notServing, .serving])
    }

    @Test func watchOfUnknownServiceStaysOpenAndEndsWhenTheBoardShutsDown() async throws {
        let board = HealthStatusBoard(initial: ["": .serving])
        let seen = try await withInProcessServer(services: [HealthService(board: board)]) { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).watch(request("later")) { response in
                var seen: [Status] = []
                for try await message in response.messages {
                    seen.append(message.status)
                    if seen.count == 1 { board.set(.serving, for: "later") }
                    if seen.count == 2 { board.shutdown() }
                }
                return seen
            }
        }
        #expect(seen == [.serviceUnknown, .serving, .notServing])
    }

    @Test(arguments: [("", Status.serving), ("boundary.v1.Inference", Status.notServing)])
    func checkReportsTheBoardStatus(service: String, expected: Status) async throws {
        let board = HealthStatusBoard(initial: ["": .serving, "boundary.v1.Inference": .notServing])
        let response = try await withInProcessServer(services: [HealthService(board: board)]) { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).check(request(service))
        }
        #expect(response.status == expected)
    }

    @Test func checkOfUnknownServiceIsNotFoundAndNamesKnownServices() async throws {
        let board = HealthStatusBoard(initial: ["": .serving, "boundary.v1.Inference": .serving])
        let error = await #expect(throws: RPCError.self) {
            try await withInProcessServer(services: [HealthService(board: board)]) { client in
                try await Grpc_Health_V1_Health.Client(wrapping: client).check(request("nope"))
            }
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "health status for service 'nope' is unknown; known: '', 'boundary.v1.Inference'")
    }

    @Test func listReturnsEveryService() async throws {
        let statuses: [String: Status] = ["": .serving, "boundary.v1.Inference": .notServing, "boundary.v1.Models": .serving]
        let board = HealthStatusBoard(initial: statuses)
        let response = try await withInProcessServer(services: [HealthService(board: board)]) { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).list(.init())
        }
        #expect(response.statuses.mapValues(\.status) == statuses)
    }
}
