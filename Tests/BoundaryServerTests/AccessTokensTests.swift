@testable import BoundaryServer
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
