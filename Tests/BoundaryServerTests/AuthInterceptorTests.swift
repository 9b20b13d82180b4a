import BoundaryAPI
import BoundaryServer
import GRPCCore
import Testing

@Suite struct AuthInterceptorTests {
    static let adminToken = "admin-0123456789abcdef"
    static let predictToken = "predict-0123456789abcdef"

    enum Call: String, Sendable, CaseIterable {
        case listModels, setServingVersion, healthCheck
    }

    /// Makes `call` through a server guarded by the interceptor; returns the status code
    /// (`.ok`-equivalent `nil` on success) and message.
    private func outcome(
        of call: Call,
        authorization: String?,
        openRoles: Set<Role> = []
    ) async throws -> (code: RPCError.Code?, message: String) {
        let tokens = try AccessTokens.parse("admin:\(Self.adminToken)\npredict:\(Self.predictToken)")
        let interceptor = AuthInterceptor(tokens: tokens, policy: AuthorizationPolicy(openRoles: openRoles))
        let board = HealthStatusBoard(initial: ["": .serving])
        let metadata: Metadata = authorization.map { ["authorization": "\($0)"] } ?? [:]
        do {
            return try await withInProcessServer(
                services: [FakeModels(), HealthService(board: board)],
                interceptors: [interceptor]
            ) { client in
                let models = Boundary_V1_Models.Client(wrapping: client)
                switch call {
                case .listModels:
                    _ = try await models.listModels(.init(), metadata: metadata)
                case .setServingVersion:
                    _ = try await models.setServingVersion(.init(), metadata: metadata)
                case .healthCheck:
                    _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), metadata: metadata)
                }
                return (nil, "")
            }
        } catch let error as RPCError {
            return (error.code, error.message)
        }
    }

    @Test(arguments: [
        (Call.listModels, nil, RPCError.Code.unauthenticated, "missing bearer token: send the header 'authorization: Bearer <token>'"),
        (.listModels, "Basic \(adminToken)", .unauthenticated, "missing bearer token: send the header 'authorization: Bearer <token>'"),
        (.listModels, "Bearer wrong-0123456789abcdef", .unauthenticated, "invalid bearer token"),
        (.setServingVersion, "Bearer \(predictToken)", .permissionDenied, "method boundary.v1.Models/SetServingVersion needs the 'admin' role"),
    ] as [(Call, String?, RPCError.Code, String)])
    func rejectsWithActionableStatus(call: Call, authorization: String?, code: RPCError.Code, message: String) async throws {
        let result = try await outcome(of: call, authorization: authorization)
        #expect(result.code == code)
        #expect(result.message == message)
    }

    @Test(arguments: [
        (Call.listModels, "Bearer \(predictToken)"),
        (.listModels, "bearer \(adminToken)"),
        (.setServingVersion, "Bearer \(adminToken)"),
        (.healthCheck, nil),
    ] as [(Call, String?)])
    func allowsSufficientRolesAndOpenServices(call: Call, authorization: String?) async throws {
        let result = try await outcome(of: call, authorization: authorization)
        #expect(result.code == nil, "\(result.message)")
    }

    @Test func openRolesNeedNoTokenButOthersStillDo() async throws {
        #expect(try await outcome(of: .listModels, authorization: nil, openRoles: [.predict]).code == nil)
        #expect(try await outcome(of: .setServingVersion, authorization: nil, openRoles: [.predict]).code == .unauthenticated)
    }
}

@Suite struct AuthorizationPolicyTests {
    typealias Requirement = AuthorizationPolicy.Requirement

    @Test(arguments: [
        ("boundary.v1.Inference", "Predict", Requirement.role(.predict)),
        ("boundary.v1.Inference", "PredictStream", .role(.predict)),
        ("boundary.v1.Models", "ListModels", .role(.predict)),
        ("boundary.v1.Models", "GetModel", .role(.predict)),
        ("boundary.v1.Models", "SetServingVersion", .role(.admin)),
        ("boundary.v1.Models", "DeleteEverything", .role(.admin)),
        ("boundary.v1.Feedback", "SubmitFeedback", .role(.feedback)),
        ("boundary.v1.Feedback", "GetQueue", .role(.feedback)),
        ("boundary.v1.Feedback", "Retrain", .role(.admin)),
        ("boundary.v1.Feedback", "ListQuarantine", .role(.admin)),
        ("boundary.v1.Feedback", "ReleaseFeedback", .role(.admin)),
        ("boundary.v1.Feedback", "DiscardFeedback", .role(.admin)),
        ("boundary.v1.Review", "ListCandidates", .role(.feedback)),
        ("boundary.v1.Review", "GetThumbnail", .role(.feedback)),
        ("grpc.health.v1.Health", "Watch", .open),
        ("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo", .open),
        ("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", .open),
        ("other.v1.Unknown", "Anything", .role(.admin)),
    ])
    func mapsMethodsToRoles(service: String, method: String, expected: Requirement) {
        let descriptor = MethodDescriptor(fullyQualifiedService: service, method: method)
        #expect(AuthorizationPolicy().requirement(for: descriptor) == expected)
    }

    @Test(arguments: Role.allCases)
    func openRolesOpenExactlyThatRole(role: Role) {
        let policy = AuthorizationPolicy(openRoles: [role])
        let methods: [(String, String, Role)] = [
            ("boundary.v1.Inference", "Predict", .predict),
            ("boundary.v1.Feedback", "SubmitFeedback", .feedback),
            ("boundary.v1.Models", "SetServingVersion", .admin),
        ]
        for (service, method, needed) in methods {
            let requirement = policy.requirement(for: MethodDescriptor(fullyQualifiedService: service, method: method))
            #expect(requirement == (needed == role ? .open : .role(needed)))
        }
    }
}
