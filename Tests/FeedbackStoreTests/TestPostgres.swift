import Foundation
import PostgresStore
#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster for the test process: initdb in a temporary directory, started
/// on a free loopback port the first time a test asks, stopped (and deleted) when the process
/// exits. Each test gets a database of its own. Needs Debian's `postgresql` package
/// (`scripts/bootstrap` installs it); as root, the server runs as the `postgres` user, since
/// PostgreSQL refuses to run as root.
enum TestPostgres {
    struct Cluster: Sendable {
        let bin: String
        let directory: String
        let port: Int
        let asPostgres: Bool
    }

    static let cluster: Result<Cluster, any Error> = Result { try start() }

    /// A new, empty database on the cluster.
    static func freshDatabase() throws -> PostgresLocation {
        let cluster = try cluster.get()
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try run(cluster.bin + "/psql", ["-h", "127.0.0.1", "-p", "\(cluster.port)", "-U", "boundary", "-d", "postgres", "-q",
                                         "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        return PostgresLocation(host: "127.0.0.1", port: cluster.port, user: "boundary", database: name, tls: .disable, poolSize: 2)
    }

    private static func start() throws -> Cluster {
        let bin = try binDirectory()
        let asPostgres = getuid() == 0
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if asPostgres { try run("/bin/chown", ["postgres:postgres", directory]) }
        func server(_ tool: String, _ arguments: [String]) throws {
            if asPostgres { try run("/usr/sbin/runuser", ["-u", "postgres", "--", bin + "/" + tool] + arguments) }
            else { try run(bin + "/" + tool, arguments) }
        }
        // Trust on loopback only: the cluster lives as long as the test process, in its own directory.
        try server("initdb", ["-D", directory + "/data", "-A", "trust", "-U", "boundary", "-E", "UTF8", "--no-sync"])
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try freePort()
            do {
                try server("pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o",
                                      "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=400", "start"])
                let cluster = Cluster(bin: bin, directory: directory, port: port, asPostgres: asPostgres)
                running = cluster
                atexit { TestPostgres.stop() }
                return cluster
            } catch {
                lastError = error  // Another process took the port between the probe and the start: try another.
            }
        }
        throw lastError ?? TestFailure("PostgreSQL did not start")
    }

    nonisolated(unsafe) private static var running: Cluster?

    private static func stop() {
        guard let cluster = running else { return }
        let arguments = ["-D", cluster.directory + "/data", "-m", "immediate", "-w", "stop"]
        if cluster.asPostgres { try? run("/usr/sbin/runuser", ["-u", "postgres", "--", cluster.bin + "/pg_ctl"] + arguments) }
        else { try? run(cluster.bin + "/pg_ctl", arguments) }
        try? FileManager.default.removeItem(atPath: cluster.directory)
    }

    /// Debian keeps the server tools in /usr/lib/postgresql/VERSION/bin; the newest wins.
    private static func binDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        for version in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw TestFailure("PostgreSQL's server tools are not installed (no \(root)/*/bin/initdb): run scripts/bootstrap, "
                          + "which installs Debian's postgresql package")
    }

    private static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("no free loopback port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a tool to its exit with posix_spawn and waitpid. (Foundation's Process waits for
    /// descriptors the server that pg_ctl starts inherits and keeps open, so it never returns.)
    private static func run(_ tool: String, _ arguments: [String]) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-pg-run-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv = ([tool] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, tool, &actions, nil, argv + [nil], environ)
        guard spawned == 0 else { throw TestFailure("cannot start \(tool): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestFailure("\(tool) \(arguments.joined(separator: " ")) failed (wait status \(status)): \(text)")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
