@testable import AlertBridgeStore
import Foundation
import Logging
import Testing

/// `alertbridge serve` refusing to start, as an operator sees it.
@Suite("alertbridge serve")
struct ServeCommandTests {
    /// After a rollback to an older build, the store a newer build migrated is refused with
    /// one line that says what to do, exit 1, and the file is left as it was.
    @Test("a store migrated by a newer build is refused at start with one line")
    func aNewerSchemaIsRefused() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-newer")
        defer { dir.remove() }
        let database = dir.path("alertbridge.db")
        try await SQLiteStore.open(path: database, logger: Logger(label: "test")).close()
        let newer = SQLiteMigrations.all.count + 1
        let raw = try await SQLiteWorker.open(path: database)
        try await raw.run { try $0.run("INSERT INTO schema_migrations VALUES (?, 0)", [.integer(newer)]) }
        try await raw.close()
        try """
            rules: \(Paths.repoRoot.appendingPathComponent("rules").path)
            policies: \(Paths.repoRoot.appendingPathComponent("escalation-policies").path)
            """.write(toFile: dir.path("alertbridge.yaml"), atomically: true, encoding: .utf8)

        let result = try await run(try Paths.alertbridgeBinary(), [
            "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(try freeLocalPort())",
            "--store", "sqlite:\(database)",
        ], environment: ProcessInfo.processInfo.environment)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.hasSuffix("""
            alertbridge: cannot open the store: the store is at schema \(newer), written by a newer alertbridge; \
            this build knows schema \(newer - 1) at most. Run the newer build (or restore a backup taken before it started)

            """), "\(result)")
    }

    /// A second server on a taken port (another alertbridge, or anything else) stops with
    /// one line that names the address and the likely cause, exit 1.
    @Test("a port another process listens on is refused at start with one line naming it")
    func aTakenPortIsRefused() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-taken")
        defer { dir.remove() }
        try """
            rules: \(Paths.repoRoot.appendingPathComponent("rules").path)
            policies: \(Paths.repoRoot.appendingPathComponent("escalation-policies").path)
            """.write(toFile: dir.path("alertbridge.yaml"), atomically: true, encoding: .utf8)
        let taken = try ListeningSocket()
        defer { taken.close() }

        let result = try await run(try Paths.alertbridgeBinary(), [
            "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(taken.port)",
            "--store", "sqlite:\(dir.path("alertbridge.db"))",
        ], environment: ProcessInfo.processInfo.environment)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.hasSuffix("""
            alertbridge: cannot listen on 127.0.0.1:\(taken.port): address already in use (is another alertbridge running?)

            """), "\(result)")
        #expect(!result.stderr.contains("errno"), "\(result)")
    }
}
