import AlertBridgeCore
import AlertBridgeStore
import Foundation
import TestProcesses
import Synchronization
import Testing

/// A throwaway PostgreSQL 15 server for the tests: `initdb` into a temporary directory
/// owned by `postgres` (the server refuses to run as root), trust auth, loopback only,
/// `fsync=off`. One shared server per test process (each test makes its own database);
/// tests that stop and start the server get one of their own. Every server started is
/// stopped when the process exits, or by a ``ParentWatch`` when it crashed.
final class PostgresServer: Sendable {
    static let bin = ProcessInfo.processInfo.environment["ALERTBRIDGE_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
    static let available = FileManager.default.isExecutableFile(atPath: bin + "/initdb")
        && FileManager.default.isExecutableFile(atPath: bin + "/pg_ctl")
    /// `.ci/run` sets this so that missing PostgreSQL binaries fail the run instead of skipping.
    static let requireAll = ProcessInfo.processInfo.environment["ALERTBRIDGE_REQUIRE_ALL"] == "1"
    static let enabled = available || requireAll
    static let skipReason: Comment = """
        PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin (apt-get install postgresql-15, \
        or set ALERTBRIDGE_PG_BIN); set ALERTBRIDGE_REQUIRE_ALL=1 to fail instead of skipping
        """

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let dataDirectory: String
    let port: Int
    /// `-c name=value` settings beyond the tests' own.
    let settings: [String]
    private let databases = Atomic<Int>(0)

    private init(dataDirectory: String, port: Int, settings: [String]) {
        self.dataDirectory = dataDirectory
        self.port = port
        self.settings = settings
    }

    /// The server shared by every test of this process, started on first use.
    static let shared: Result<PostgresServer, Failure> = {
        do { return .success(try start()) } catch let error as Failure { return .failure(error) } catch {
            return .failure(Failure(description: "\(error)"))
        }
    }()

    /// Initializes a fresh cluster and starts it on a free loopback port.
    /// - Parameter settings: server settings (`max_connections=20`) for a test of limits.
    static func start(settings: [String] = []) throws -> PostgresServer {
        guard available else { throw Failure(description: "\(skipReason)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-pg-\(UUID().uuidString)").path
        try run("/usr/bin/install", ["-d", "-o", "postgres", "-g", "postgres", "-m", "700", dir])
        registerForCleanup(dir)
        try run("/usr/sbin/runuser", ["-u", "postgres", "--", bin + "/initdb", "-D", dir, "-A", "trust", "-U", "postgres",
                                      "-E", "UTF8", "--locale=C", "--no-sync"])
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = PostgresServer(dataDirectory: dir, port: try freeLocalPort(), settings: settings)
            do {
                try server.startAgain()
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError ?? Failure(description: "could not start PostgreSQL")
    }

    /// `pg_ctl start` on the same directory and port (after ``stop()``).
    func startAgain() throws {
        let options = "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='\(dataDirectory)' "
            + "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
            + settings.map { " -c \($0)" }.joined()
        try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", Self.bin + "/pg_ctl", "-D", dataDirectory, "-w", "-t", "30",
                                           "-l", dataDirectory + "/server.log", "-o", options, "start"])
    }

    /// `pg_ctl stop -m fast`: connections are closed at once, as in a database restart.
    func stop() throws {
        try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", Self.bin + "/pg_ctl", "-D", dataDirectory, "-w",
                                           "-m", "fast", "stop"])
    }

    /// Stops the server and deletes its directory.
    func destroy() {
        Self.cleanUp(dataDirectory)
    }

    /// A new, empty database on this server.
    func createDatabase() throws -> PostgresLocation {
        let name = "ab_\(getpid())_\(databases.add(1, ordering: .relaxed).newValue)_\(UUID().uuidString.prefix(8).lowercased())"
        try Self.run(Self.bin + "/psql", ["-X", "-q", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres",
                                          "-c", "CREATE DATABASE \"\(name)\""])
        return PostgresLocation(host: "127.0.0.1", port: port, username: "postgres", database: name)
    }

    // MARK: - Processes

    /// Runs a command to its end, blocking the calling thread. Its output goes to a file,
    /// not a pipe: pg_ctl's server child inherits it and keeps it open.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-pg-out-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status = try ChildProcess.start(executable, arguments, output: output, errors: output).waitBlocking()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == .exit(0) else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) failed (\(status)): \(text)")
        }
        return text
    }

    // MARK: - Cleanup at exit

    private static let started = Mutex<[String]>([])
    private static let atexitRegistered = Mutex(false)

    private static func registerForCleanup(_ dir: String) {
        started.withLock { $0.append(dir) }
        let quoted = ParentWatch.quoted(dir)
        ParentWatch.start(while: "test -d \(quoted)", cleanup: "test -f \(quoted)/postmaster.pid && /usr/sbin/runuser -u postgres -- "
                          + "\(ParentWatch.quoted(bin + "/pg_ctl")) -D \(quoted) -w -m immediate stop; rm -rf \(quoted)")
        let first = atexitRegistered.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            atexit {
                for dir in PostgresServer.started.withLock({ $0 }) { PostgresServer.cleanUp(dir) }
            }
        }
    }

    private static func cleanUp(_ dir: String) {
        let removed = started.withLock { list -> Bool in
            guard let index = list.firstIndex(of: dir) else { return false }
            list.remove(at: index)
            return true
        }
        guard removed else { return }
        if FileManager.default.fileExists(atPath: dir + "/postmaster.pid") {
            _ = try? run("/usr/sbin/runuser", ["-u", "postgres", "--", bin + "/pg_ctl", "-D", dir, "-w", "-m", "immediate", "stop"])
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
