import Foundation

/// A configuration error in a token list. Carries the line number and never the token itself,
/// because error messages end up in logs and terminals.
public struct AccessTokensError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let reason: String

    public var description: String { "access tokens, line \(line): \(reason)" }
}

/// The bearer tokens the server accepts, the roles each one grants and, optionally, whom it
/// belongs to.
///
/// The text format is one token per line, `[NAME=]ROLE[,ROLE…]:TOKEN`; blank lines and `#`
/// comments are ignored. A named token speaks for that name: feedback sent with it is that
/// reviewer's, whatever `user_id` says (see ``Caller``), so per-user quotas, shares and the
/// poisoning screen cannot be dodged by inventing user ids. Tokens are compared in constant time
/// so response timing reveals nothing about how much of a guessed token was right.
public struct AccessTokens: Sendable, CustomStringConvertible {
    /// Shorter tokens are rejected at parse time: they are guessable, and catching that at startup
    /// is far cheaper than after a leak.
    public static let minimumTokenLength = 16

    /// Names are what reviewers are recorded as: short, printable, no separators of the format.
    public static let maximumNameLength = 64

    private struct Entry: Sendable {
        let token: [UInt8]
        let roles: Set<Role>
        let name: String?
    }

    private let entries: [Entry]

    /// How many tokens are configured.
    public var count: Int { entries.count }

    /// Redacted, so interpolating the configuration into a log line can't leak a token.
    public var description: String { "AccessTokens(\(entries.count) tokens)" }

    private init(entries: [Entry]) {
        self.entries = entries
    }

    /// Parses the text format described on the type.
    /// - Throws: ``AccessTokensError`` naming the first bad line.
    public static func parse(_ text: String) throws -> AccessTokens {
        var entries: [Entry] = []
        var seen: [[UInt8]: Int] = [:]
        var names: [String: Int] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, rawLine) in lines.enumerated() {
            let lineNumber = offset + 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let entry = try parseEntry(line, lineNumber: lineNumber)
            if let first = seen[entry.token] {
                throw AccessTokensError(line: lineNumber, reason: "repeats the token from line \(first)")
            }
            seen[entry.token] = lineNumber
            if let name = entry.name {
                // The name is not echoed either: with the parts mixed up it could be a token.
                if let first = names[name] { throw AccessTokensError(line: lineNumber, reason: "repeats the name from line \(first)") }
                names[name] = lineNumber
            }
            entries.append(entry)
        }
        return AccessTokens(entries: entries)
    }

    /// Reads and parses a token file.
    public static func load(contentsOfFile path: String) throws -> AccessTokens {
        try parse(String(contentsOfFile: path, encoding: .utf8))
    }

    /// Parses the token list in environment variable `name`, or returns `nil` if it is unset.
    public static func fromEnvironment(
        _ name: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AccessTokens? {
        try environment[name].map(parse)
    }

    /// The roles granted to `token` (implied roles included), or `nil` if it isn't configured.
    ///
    /// Every configured token is compared in full, whether or not an earlier one matched, so the
    /// time taken depends only on the number and length of tokens, not on the presented value.
    public func roles(forBearer token: String) -> Set<Role>? {
        caller(forBearer: token)?.roles
    }

    /// Who presents `token`: its roles (implied ones included) and name, or `nil` if it isn't
    /// configured. Compares every configured token in full, as ``roles(forBearer:)`` promises.
    public func caller(forBearer token: String) -> Caller? {
        let presented = Array(token.utf8)
        var matched: Caller?
        for entry in entries {
            if Self.constantTimeEquals(presented, entry.token) {
                matched = Caller(name: entry.name, roles: entry.roles)
            }
        }
        return matched
    }

    /// Byte-wise equality without early exit: both inputs are walked as if zero-padded to the
    /// longer length, XOR differences are OR-accumulated, and the length difference is folded in.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        let length = Swift.max(lhs.count, rhs.count)
        var difference = UInt(bitPattern: lhs.count ^ rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= UInt(left ^ right)
        }
        return difference == 0
    }

    private static func parseEntry(_ line: String, lineNumber: Int) throws -> Entry {
        func failure(_ reason: String) -> AccessTokensError {
            AccessTokensError(line: lineNumber, reason: reason)
        }
        guard let colon = line.firstIndex(of: ":") else {
            throw failure("expected '[NAME=]ROLE[,ROLE...]:TOKEN' but found no ':'")
        }
        let token = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        var head = line[..<colon]
        var owner: String?
        if let equals = head.firstIndex(of: "=") {
            let name = head[..<equals].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.count <= maximumNameLength,
                  name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._@-".unicodeScalars.contains($0)) })
            else {
                throw failure("the name before '=' must be 1-\(maximumNameLength) letters, digits or . _ @ -")
            }
            owner = name
            head = head[head.index(after: equals)...]
        }
        var roles: Set<Role> = []
        for name in head.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = name.trimmingCharacters(in: .whitespaces).lowercased()
            guard let role = Role(rawValue: trimmed) else {
                // The unknown text isn't echoed: with the parts swapped ('TOKEN:ROLE') it is the token.
                let known = Role.allCases.map(\.rawValue).joined(separator: ", ")
                throw failure("unknown role before ':'; expected '[NAME=]ROLE[,ROLE...]:TOKEN' with roles from \(known)")
            }
            roles.formUnion(role.granted)
        }
        guard !token.isEmpty else { throw failure("the token after ':' is empty") }
        guard !token.contains(where: \.isWhitespace) else { throw failure("the token contains whitespace") }
        guard token.utf8.count >= minimumTokenLength else {
            throw failure("the token is shorter than \(minimumTokenLength) characters; use a long random value")
        }
        return Entry(token: Array(token.utf8), roles: roles, name: owner)
    }
}
