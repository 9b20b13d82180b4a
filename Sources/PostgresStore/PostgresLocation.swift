import Foundation
import NIOSSL
import PostgresNIO

/// Where the PostgreSQL store lives, parsed from a libpq-style URL:
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require][&pool=N]`.
/// The password may also come from `PGPASSWORD`, so it need not sit in a command line.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// Connections this process keeps open at most.
    public var poolSize: Int

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
                tls: TLSMode = .prefer, poolSize: Int = 4) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.poolSize = poolSize
    }

    /// Parses `url`; the error says which part is wrong and what is expected.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw PostgresStoreError.badLocation("'\(Self.redacted(url))' is not a postgres:// URL; expected "
                + "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresStoreError.badLocation("'\(Self.redacted(url))' names no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresStoreError.badLocation("'\(Self.redacted(url))' names no user (postgres://USER@HOST/DATABASE)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresStoreError.badLocation("'\(Self.redacted(url))' names no database (postgres://USER@HOST/DATABASE)")
        }
        var tls = TLSMode.prefer
        var poolSize = 4
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                // libpq's allow/verify-* map onto the nearest mode this client has.
                switch item.value ?? "" {
                case "disable", "allow": tls = .disable
                case "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw PostgresStoreError.badLocation("sslmode '\(item.value ?? "")' is not one of disable, prefer, require")
                }
            case "pool":
                guard let size = Int(item.value ?? ""), (1...64).contains(size) else {
                    throw PostgresStoreError.badLocation("pool '\(item.value ?? "")' must be a number of connections from 1 to 64")
                }
                poolSize = size
            default:
                throw PostgresStoreError.badLocation("unknown parameter '\(item.name)' (known: sslmode, pool)")
            }
        }
        self.init(host: host, port: components.port ?? 5432, user: user,
                  password: components.password ?? environment["PGPASSWORD"], database: database, tls: tls, poolSize: poolSize)
    }

    /// The URL with the password hidden, for logs and errors.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "(unparseable URL)"
    }

    func configuration() throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable: tlsSetting = .disable
        case .prefer: tlsSetting = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tlsSetting = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password,
                                                             database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}

/// What went wrong talking to PostgreSQL, in words a person can act on. (postgres-nio's own
/// errors print a generic text on purpose, to keep queries and data out of logs.)
public enum PostgresStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case badLocation(String)
    case unreachable(location: String, reason: String)
    /// The server answered with an error (SQLSTATE and message).
    case server(sqlState: String, message: String)
    /// The server would not keep acknowledged writes across a crash.
    case notDurable(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .badLocation(let detail): "bad --store: \(detail)"
        case .unreachable(let location, let reason): "cannot reach PostgreSQL at \(location): \(reason)"
        case .server(let state, let message): "PostgreSQL error \(state): \(message)"
        case .notDurable(let detail): "PostgreSQL does not keep commits durable: \(detail)"
        case .corrupt(let detail): "unexpected data in the PostgreSQL store: \(detail)"
        }
    }

    /// Maps postgres-nio's errors onto ours, keeping the server's SQLSTATE and message.
    static func wrapping(_ error: any Error) -> any Error {
        guard let error = error as? PSQLError else { return error }
        if let info = error.serverInfo {
            return PostgresStoreError.server(sqlState: info[.sqlState] ?? "?", message: info[.message] ?? "\(error.code)")
        }
        return PostgresStoreError.server(sqlState: "connection", message: "\(error.code)")
    }
}
