@testable import AlertBridgeStore
import Foundation
import Logging
import TestProcesses
import Testing

/// `alertbridge check` as a user runs it.
@Suite("alertbridge check")
struct CheckCommandTests {
    @Test("the shipped files pass with a one-line summary and exit 0")
    func shippedFilesPass() async throws {
        let config = try TemporaryDirectory("alertbridge-check")
        defer { config.remove() }
        let file = config.path("alertbridge.yaml")
        try """
            rules: \(Paths.repoRoot.appendingPathComponent("rules").path)
            policies: \(Paths.repoRoot.appendingPathComponent("escalation-policies").path)
            """.write(toFile: file, atomically: false, encoding: .utf8)
        let result = try await run(try Paths.alertbridgeBinary(), ["check", "--config", file],
                                   environment: ProcessInfo.processInfo.environment)
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("ok: "), "\(result)")
        // No store file yet: said, since `serve` would start on an empty one (black-box
        // round 39: a store: edited to a wrong name passed as ok).
        #expect(lines.last?.hasPrefix("note: there is no store at ") == true
                && lines.last?.hasSuffix(", and serve creates an empty one there; if alertbridge ran before, its incidents, "
                                         + "timers and pending pages are in another file: check store:") == true, "\(result)")
    }

    @Test("every problem is printed as path:line:col: message and the exit code is 1")
    func problemsArePositioned() async throws {
        let dir = try TemporaryDirectory("alertbridge-check-bad")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path("rules"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path("escalation-policies"), withIntermediateDirectories: true)
        try "listen: 127.0.0.1:8080\nlisen: oops\n".write(toFile: dir.path("alertbridge.yaml"), atomically: false, encoding: .utf8)
        try """
            rules:
              - name: broken
                match: ["pop =~ \\"(unclosed\\""]
                policy: nowhere
            """.write(toFile: dir.path("rules/10-bad.yaml"), atomically: false, encoding: .utf8)
        try """
            name: empty
            tiers: []
            """.write(toFile: dir.path("escalation-policies/empty.yaml"), atomically: false, encoding: .utf8)
        let result = try await run(try Paths.alertbridgeBinary(), ["check", "--config", dir.path("alertbridge.yaml")],
                                   environment: ProcessInfo.processInfo.environment)
        #expect(result.status == 1, "\(result)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasSuffix("alertbridge.yaml:2:1: unknown key \"lisen\" (expected one of: listen, store, rules, policies, tokens, connectors, max_body_bytes, limits, delivery)") || ($0.contains("alertbridge.yaml:2:1:") && $0.contains("lisen")) }, "\(result)")
        #expect(lines.contains { $0.contains("rules/10-bad.yaml:3:13:") && $0.contains("regex") }, "\(result)")
        #expect(lines.contains { $0.contains("rules/10-bad.yaml:4:13:") && $0.contains("nowhere") }, "\(result)")
        #expect(lines.contains { $0.contains("escalation-policies/empty.yaml:2:") && $0.contains("tier") }, "\(result)")
    }

    /// The README's way to change a configuration is `check`, then restart: a file `check`
    /// passes must start. Each of these passed `check` and stopped `serve`.
    @Test("check refuses every file serve refuses, at the same position")
    func checkRefusesWhatServeRefuses() async throws {
        let dir = try TemporaryDirectory("alertbridge-check-serve")
        defer { dir.remove() }
        let shipped = """
            rules: \(Paths.repoRoot.appendingPathComponent("rules").path)
            policies: \(Paths.repoRoot.appendingPathComponent("escalation-policies").path)

            """
        var environment = ProcessInfo.processInfo.environment
        environment["HOOK_SECRET"] = ""
        for (file, problem) in [
            ("listen: 0.0.0.0:\(try freeLocalPort())\n", "alertbridge.yaml:3:9: listening on 0.0.0.0 needs tokens"),
            ("connectors:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/\", secret: \"${HOOK_SECRET}\"}\n",
             "alertbridge.yaml:4:61: secret is empty (its environment variable is set to nothing)"),
            ("store: \"sqlite::memory:\"\n", "alertbridge.yaml:3:8: store \"sqlite::memory:\" is not a file path"),
            ("store: sqlite:nodir/ab.db\n", "alertbridge.yaml:3:8: store \"sqlite:nodir/ab.db\" is in "),
        ] {
            try (shipped + file).write(toFile: dir.path("alertbridge.yaml"), atomically: false, encoding: .utf8)
            let check = try await run(try Paths.alertbridgeBinary(), ["check", "--config", dir.path("alertbridge.yaml")],
                                      environment: environment)
            #expect(check.status == 1 && check.stdout.contains(problem), "\(check)")
            let serve = try await run(try Paths.alertbridgeBinary(), ["serve", "--config", dir.path("alertbridge.yaml")],
                                      environment: environment, timeout: .seconds(20))
            // Each problem on a line of its own, as `check` prints them.
            #expect(serve.status == 1 && serve.stderr.contains("alertbridge: configuration has problems:\n")
                     && serve.stderr.split(separator: "\n").contains { $0.hasSuffix(problem) || $0.contains(problem) && !$0.hasPrefix("alertbridge:") },
                     "\(serve)")
        }
    }

    /// A directory with `alertbridge.yaml` naming the shipped rules and policies and the
    /// store `ab.db` beside it, created (empty) by the store itself.
    static func serverFileWithAStore(_ name: String) async throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(name)
        try """
            store: sqlite:ab.db
            rules: \(Paths.repoRoot.appendingPathComponent("rules").path)
            policies: \(Paths.repoRoot.appendingPathComponent("escalation-policies").path)
            """.write(toFile: dir.path("alertbridge.yaml"), atomically: false, encoding: .utf8)
        try await SQLiteStore.open(path: dir.path("ab.db"), logger: Logger(label: "test")).close()
        return dir
    }

    /// `serve` refuses a damaged store file at start; `check` said ok for one (black-box
    /// round 25), so "check, then restart" left the service down.
    @Test("check refuses a damaged store file, as serve does")
    func checkRefusesADamagedStore() async throws {
        let dir = try await Self.serverFileWithAStore("alertbridge-check-store")
        defer { dir.remove() }
        let intact = try await run(try Paths.alertbridgeBinary(), ["check", "--config", dir.path("alertbridge.yaml")],
                                   environment: ProcessInfo.processInfo.environment)
        #expect(intact.status == 0 && intact.stdout.hasPrefix("ok: ") && !intact.stdout.contains("note:"), "\(intact)")

        // Every page but the first (the header and the schema) overwritten in part.
        let file = try #require(FileHandle(forUpdatingAtPath: dir.path("ab.db")))
        let pages = try file.seekToEnd() / 4096
        for page in 1..<pages {
            try file.seek(toOffset: page * 4096 + 8)
            try file.write(contentsOf: Data(repeating: 0xA5, count: 200))
        }
        try file.close()
        let damaged = try await run(try Paths.alertbridgeBinary(), ["check", "--config", dir.path("alertbridge.yaml")],
                                    environment: ProcessInfo.processInfo.environment)
        #expect(damaged.status == 1, "\(damaged)")
        #expect(damaged.stdout.hasPrefix("the store at \(dir.path("ab.db")) is damaged ("), "\(damaged)")
        #expect(damaged.stdout.contains("): restore it from a backup, or move it aside to start with an empty store"), "\(damaged)")
        let serve = try await run(try Paths.alertbridgeBinary(), ["serve", "--config", dir.path("alertbridge.yaml")],
                                  environment: ProcessInfo.processInfo.environment, timeout: .seconds(20))
        #expect(serve.status == 1 && serve.stderr.contains("is damaged ("), "\(serve)")
    }

    /// Rolling back: a store a newer build migrated is refused by `serve`; `check` said ok
    /// for it (black-box round 27), so "check, then restart" left the service down.
    @Test("check refuses a store a newer build migrated, as serve does")
    func checkRefusesANewerStore() async throws {
        let dir = try await Self.serverFileWithAStore("alertbridge-check-newer")
        defer { dir.remove() }
        let raw = try SQLiteSession(path: dir.path("ab.db"))
        let newest = try raw.rows("SELECT MAX(version) AS v FROM schema_migrations").first?.column("v")?.integer ?? 0
        try raw.run("INSERT INTO schema_migrations VALUES (?, 0)", [.integer(newest + 1)])
        raw.close()
        let check = try await run(try Paths.alertbridgeBinary(), ["check", "--config", dir.path("alertbridge.yaml")],
                                  environment: ProcessInfo.processInfo.environment)
        let refusal = "the store is at schema \(newest + 1), written by a newer alertbridge; this build knows schema \(newest) at most"
        #expect(check.status == 1 && check.stdout.hasPrefix("cannot open the store at \(dir.path("ab.db")): \(refusal)"), "\(check)")
        let serve = try await run(try Paths.alertbridgeBinary(), ["serve", "--config", dir.path("alertbridge.yaml")],
                                  environment: ProcessInfo.processInfo.environment, timeout: .seconds(20))
        #expect(serve.status == 1 && serve.stderr.contains(refusal), "\(serve)")
    }
}
