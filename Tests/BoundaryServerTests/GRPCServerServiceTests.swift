import BoundaryAPI
import BoundaryServer
import GRPCCore
import GRPCInProcessTransport
import Logging
import ServiceLifecycle
import Testing

@Suite struct GRPCServerServiceTests {
    @Test(arguments: [Duration.milliseconds(50), .milliseconds(400)])
    func gracefulShutdownRunsTheHookAndLetsInFlightRPCsFinish(delay: Duration) async throws {
        let transport = InProcessTransport()
        let board = HealthStatusBoard(initial: ["": .serving])
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let server = GRPCServer(
            transport: transport.server,
            services: [FakeModels(delay: delay, started: startedContinuation), HealthService(board: board)]
        )
        let service = GRPCServerService(server: server, beforeShutdown: { board.shutdown() })
        let group = ServiceGroup(configuration: .init(
            services: [service],
            gracefulShutdownSignals: [],
            logger: Logger(label: "test")
        ))

        let reply = try await withThrowingTaskGroup(of: Boundary_V1_ModelInfo?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask {
                try await withGRPCClient(transport: transport.client) { client in
                    try await Boundary_V1_Models.Client(wrapping: client).getModel(.with { $0.model = "slow" })
                }
            }
            // Shut down only once the slow RPC is being handled, so it is truly in flight.
            for await _ in started { break }
            #expect(board.status(for: "") == .serving)
            await group.triggerGracefulShutdown()

            var reply: Boundary_V1_ModelInfo?
            for try await result in tasks {
                if let result { reply = result }
            }
            return reply
        }
        #expect(reply?.name == "GetModel:slow")
        #expect(board.status(for: "") == .notServing)
    }
}
