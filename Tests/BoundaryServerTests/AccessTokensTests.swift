@testable import BoundaryServer
import GRPCCore
import Testing

@Suite struct AccessTokensTests {
    static let adminToken = "admin-0123456789abcdef"
    static let predictToken = "predict-0123456789abcdef"
    static let feedbackToken = "feedback-0123456789abcdef"

    static let goodText = """
        # Boundary access tokens
        admin:\(adminToken)

          predict : \(predictToken)
        predict,feedback:\(feedbackToken)
        """

    @Test(arguments: [
        (adminToken, Set<Role>([.admin, .feedback, .predict])),
        (predictToken, Set<Role>([.predict])),
        (feedbackToken, Set<Role>([.feedback, .predict])),
    ])
    func parsesRolesWithImplications(token: String, roles: Set<Role>) throws {
        let tokens = try AccessTokens.parse(Self.goodText)
        #expect(tokens.count == 3)
        #expect(tokens.roles(forBearer: token) == roles)
    }

    @Test(arguments: ["", "admin-0123456789abcde", "admin-0123456789abcdefX", "Admin-0123456789abcdef", " "])
    func nearMissesAreRejected(presented: String) throws {
        let tokens = try AccessTokens.parse(Self.goodText)
        #expect(tokens.roles(forBearer: presented) == nil)
    }

    @Test(arguments: [
        ("predict \(predictToken)", 1),
        ("# ok\nroot:\(predictToken)", 2),
        ("\n\npredict:", 3),
        ("predict:tooShort", 1),
        ("predict:has space 0123456789abcdef", 1),
        ("admin:\(adminToken)\n,predict:\(predictToken)", 2),
        ("admin:\(adminToken)\npredict:\(adminToken)", 2),
        ("\(predictToken):predict", 1),
    ])
    func badLinesAreReportedByLineWithoutTheToken(text: String, line: Int) {
        let error = #expect(throws: AccessTokensError.self) { try AccessTokens.parse(text) }
        #expect(error?.line == line)
        for secret in [Self.adminToken, Self.predictToken, "tooShort", "0123456789abcdef"] {
            #expect(error?.description.contains(secret) == false)
        }
    }

    /// `NAME=ROLE:TOKEN` names whom a token belongs to; unnamed tokens stay anonymous.
    @Test func namedTokensCarryTheirName() throws {
        let tokens = try AccessTokens.parse("ana.b@lab-1 = feedback:\(Self.feedbackToken)\nadmin:\(Self.adminToken)\n")
        #expect(tokens.caller(forBearer: Self.feedbackToken) == Caller(name: "ana.b@lab-1", roles: [.feedback, .predict]))
        #expect(tokens.caller(forBearer: Self.adminToken) == Caller(name: nil, roles: [.admin, .feedback, .predict]))
        #expect(tokens.caller(forBearer: Self.predictToken) == nil)
    }

    @Test(arguments: [
        ("=feedback:\(feedbackToken)", 1),
        ("ana b=feedback:\(feedbackToken)", 1),
        ("ana/b=feedback:\(feedbackToken)", 1),
        ("\(String(repeating: "n", count: 65))=feedback:\(feedbackToken)", 1),
        ("ana=feedback:\(feedbackToken)\nana=admin:\(adminToken)", 2),
        ("ana=:\(feedbackToken)", 1),
    ])
    func badNamesAreReportedByLine(text: String, line: Int) {
        let error = #expect(throws: AccessTokensError.self) { try AccessTokens.parse(text) }
        #expect(error?.line == line)
        #expect(error?.description.contains(Self.feedbackToken) == false)
    }

    /// Whom feedback is recorded as, for each kind of caller.
    @Test func feedbackIsRecordedAsTheTokensName() throws {
        let eve = Caller(name: "eve", roles: Role.feedback.granted), ops = Caller(name: "ops", roles: Role.admin.granted)
        #expect(try Caller.feedbackUser(requested: "", caller: eve) == "eve")
        #expect(try Caller.feedbackUser(requested: "eve", caller: eve) == "eve")
        let refused = #expect(throws: RPCError.self) { try Caller.feedbackUser(requested: "mallory", caller: eve) }
        #expect(refused?.code == .permissionDenied && refused?.message.contains("'eve'") == true)
        #expect(try Caller.feedbackUser(requested: "imported", caller: ops) == "imported")
        #expect(try Caller.feedbackUser(requested: "", caller: ops) == "ops")
        #expect(try Caller.feedbackUser(requested: "anyone", caller: Caller(name: nil, roles: Role.feedback.granted)) == "anyone")
        #expect(try Caller.feedbackUser(requested: "anyone", caller: nil) == "anyone")
    }

    @Test func emptyAndCommentOnlyTextGivesNoTokens() throws {
        #expect(try AccessTokens.parse("").count == 0)
        #expect(try AccessTokens.parse("# nothing yet\n\n").count == 0)
    }

    @Test func descriptionIsRedacted() throws {
        let tokens = try AccessTokens.parse(Self.goodText)
        #expect(!"\(tokens)".contains(Self.adminToken))
    }

    @Test func readsFromAnEnvironmentVariable() throws {
        let environment = ["BOUNDARY_TOKENS": "admin:\(Self.adminToken)"]
        #expect(try AccessTokens.fromEnvironment("BOUNDARY_TOKENS", environment: environment)?.roles(forBearer: Self.adminToken) == Role.admin.granted)
        #expect(try AccessTokens.fromEnvironment("UNSET", environment: environment) == nil)
    }

    @Test(arguments: [
        ("", ""), ("a", ""), ("", "a"), ("abc", "abc"), ("abc", "abd"), ("abc", "ab"),
        ("ab", "abc"), ("abc\0", "abc"), ("xbc", "abc"), ("token-ä", "token-ä"),
    ])
    func constantTimeEqualsAgreesWithEquality(lhs: String, rhs: String) {
        #expect(AccessTokens.constantTimeEquals(Array(lhs.utf8), Array(rhs.utf8)) == (lhs.utf8.elementsEqual(rhs.utf8)))
    }
}
