import AlertBridgeCore
@testable import AlertBridgeStore
import Foundation
import Logging
import TestProcesses
import Testing

/// `alertbridge serve` refusing to start, as an operator sees it.
@Suite("alertbridge serve")
struct ServeCommandTests {
    /// An `alertbridge.yaml` naming the shipped rules and policies by absolute path.
    static func writeServerFile(in dir: TemporaryDirectory) throws {
        try """
            rules: \(Paths.repoRoot.appendingPathComponent("rules").path)
            policies: \(Paths.repoRoot.appendingPathComponent("escalation-policies").path)
            """.write(toFile: dir.path("alertbridge.yaml"), atomically: false, encoding: .utf8)
    }

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
        try Self.writeServerFile(in: dir)

        let result = try await run(try Paths.alertbridgeBinary(), [
            "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(try freeLocalPort())",
            "--store", "sqlite:\(database)",
        ], environment: ProcessInfo.processInfo.environment)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.hasSuffix("""
            alertbridge: cannot open the store at \(URL(fileURLWithPath: database).standardizedFileURL.path): \
            the store is at schema \(newer), written by a newer alertbridge; \
            this build knows schema \(newer - 1) at most. Run the newer build (or restore a backup taken before it started)

            """), "\(result)")
    }

    /// A store that cannot be opened names its file, and a missing directory says so
    /// (SQLite says only "unable to open database file"); a file that is not a store too.
    @Test("a store path in a missing directory, or a file that is not a store, is refused naming it")
    func anUnopenableStoreIsNamed() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-nostore")
        defer { dir.remove() }
        try Self.writeServerFile(in: dir)
        let missing = URL(fileURLWithPath: dir.path("nodir/ab.db")).standardizedFileURL.path
        let garbage = URL(fileURLWithPath: dir.path("notes.txt")).standardizedFileURL.path
        try String(repeating: "not a database\n", count: 100).write(toFile: garbage, atomically: false, encoding: .utf8)
        let folder = URL(fileURLWithPath: dir.path("data")).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        for (store, said) in [(missing, "cannot open the store at \(missing): the directory \(URL(fileURLWithPath: missing).deletingLastPathComponent().path) does not exist"),
                              (folder, "cannot open the store at \(folder): it is a directory; name the file in it (sqlite:\(folder)/alertbridge.db)"),
                              (garbage, "cannot open the store at \(garbage): the store at \(garbage) is not an SQLite database "
                                  + "(file is not a database): point store: at the right file, or move this one aside to start with an empty store")] {
            let result = try await run(try Paths.alertbridgeBinary(), [
                "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(try freeLocalPort())", "--store", "sqlite:\(store)",
            ], environment: ProcessInfo.processInfo.environment)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.hasSuffix("alertbridge: \(said)\n"), "\(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("nodir")))
    }

    /// `--listen` and `--store` are read with the file's parsers, before anything starts:
    /// a usage error (exit 2) naming the flag.
    @Test("a bad --listen or --store is a usage error naming the flag")
    func badFlagsAreUsageErrors() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-flags")
        defer { dir.remove() }
        try Self.writeServerFile(in: dir)
        for (flags, said) in [
            (["--listen", "127.0.0.1:0"], "--listen must be HOST:PORT with a port from 1 to 65535, got \"127.0.0.1:0\""),
            (["--listen", "::1:8080"], "--listen must be HOST:PORT"),
            (["--store", "sqlite::memory:"], "--store: store \"sqlite::memory:\" is not a file path"),
            (["--store", "postgres://ab:pw@db/alerts?sslmode=bogus"], "sslmode \"bogus\" is not one of disable, allow, prefer, require, verify-ca, verify-full"),
        ] {
            let result = try await run(try Paths.alertbridgeBinary(), ["serve", "--config", dir.path("alertbridge.yaml")] + flags,
                                       environment: ProcessInfo.processInfo.environment)
            #expect(result.status == 2, "\(result)")
            #expect(result.stderr.contains(said) && !result.stderr.contains(":pw@"), "\(result)")
            #expect(result.stderr.contains("Usage: alertbridge serve"), "the serve command's usage: \(result)")
        }
    }

    /// `systemctl reload` while a start waits for its database: the start goes on (and
    /// here fails on the store, as it would have), it is not killed by the signal.
    @Test("a SIGHUP while the store opens does not end the start")
    func aHangupDuringStartIsIgnored() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-early-hup")
        defer { dir.remove() }
        try Self.writeServerFile(in: dir)
        // Nothing listens there: the store open retries for seconds before it gives up.
        let process = try ChildProcess.start(try Paths.alertbridgeBinary(), [
            "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(try freeLocalPort())",
            "--store", "postgres://ab@127.0.0.1:\(try freeLocalPort())/alerts",
        ], output: dir.path("log"), errors: dir.path("log"))
        ParentWatch.kill(process.pid)
        defer { process.signal(SIGKILL) }
        _ = try await eventually("the start to reach the store") { observed -> Bool? in
            observed = (try? String(contentsOfFile: dir.path("log"), encoding: .utf8)) ?? ""
            return observed.contains("protected mode") ? true : nil
        }
        process.signal(SIGHUP)
        let ended = await process.wait()
        let output = (try? String(contentsOfFile: dir.path("log"), encoding: .utf8)) ?? ""
        #expect(ended == .exit(1), "\(output)")
        #expect(output.contains("cannot open the store"), "\(output)")
    }

    /// A second server on a taken port (another alertbridge, or anything else) stops with
    /// one line that names the address and the likely cause, exit 1.
    /// It changes nothing in the store on its way out: a crash loop beside a running
    /// instance must not fire timers or claim pages it will not stay up to send.
    /// `--config` from another directory, and the file sets no `store:`: the store is in the
    /// directory `serve` started in, and a start from elsewhere would open another, empty one
    /// (black-box round 27). Said at start. (The port is taken, so the start ends there.)
    @Test("a server file without store: read from another directory is warned about")
    func theDefaultStoreOfAServerFileElsewhereIsWarnedAbout() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-default-store")
        defer { dir.remove() }
        try Self.writeServerFile(in: dir)
        let here = URL(fileURLWithPath: dir.path("work")).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: here, withIntermediateDirectories: false)
        let taken = try ListeningSocket()
        defer { taken.close() }
        let result = try await run("/bin/sh", ["-c", "cd '\(here)' && exec '\(try Paths.alertbridgeBinary())' serve --config '\(dir.path("alertbridge.yaml"))' --listen 127.0.0.1:\(taken.port)"],
                                   environment: ProcessInfo.processInfo.environment)
        let beside = URL(fileURLWithPath: dir.path(".")).standardizedFileURL.path
        #expect(result.status == 1 && result.stdout.contains("""
            \(dir.path("alertbridge.yaml")) sets no store:, so the store is alertbridge.db in the directory serve started in \
            (\(here)), not beside the server file; a start from another directory opens another store: set store: to an \
            absolute path (store: sqlite:\(beside)/alertbridge.db)
            """), "\(result)")
    }

    @Test("a port another process listens on is refused at start with one line naming it")
    func aTakenPortIsRefused() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-taken")
        defer { dir.remove() }
        try Self.writeServerFile(in: dir)
        let taken = try ListeningSocket()
        defer { taken.close() }
        // An incident paged an hour ago, its tier 2 long due, its page still pending.
        let policy = EscalationPolicy(name: "fast", tiers: [
            .init(name: "first", notify: [.init(connector: "console")], escalateAfter: .seconds(60)),
            .init(name: "second", notify: [.init(connector: "console")], escalateAfter: .seconds(60)),
        ])
        let alert = Alert(source: "t", status: .firing, severity: .critical, summary: "s", labels: ["alertname": "X"])
        let routed = RoutedAlert(alert: alert, rule: "r", dedupKey: "X", policy: "fast", escalationPolicy: policy)
        var store: any IncidentStore = try await SQLiteStore.open(path: dir.path("alertbridge.db"), logger: Logger(label: "test"))
        let id = try #require(try await store.ingest([routed], now: SystemClock().now() - .seconds(3600))[0].incidentID)
        try await store.close()

        let result = try await run(try Paths.alertbridgeBinary(), [
            "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(taken.port)",
            "--store", "sqlite:\(dir.path("alertbridge.db"))",
        ], environment: ProcessInfo.processInfo.environment)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.hasSuffix("""
            alertbridge: cannot listen on 127.0.0.1:\(taken.port): address already in use (is another alertbridge running?)

            """), "\(result)")
        #expect(!result.stderr.contains("errno"), "\(result)")
        store = try await SQLiteStore.open(path: dir.path("alertbridge.db"), logger: Logger(label: "test"))
        let after = try #require(try await store.incident(id: id))
        #expect(after.incident.tier == 1 && !after.timeline.contains { $0.kind == .escalated }, "\(after.timeline)")
        #expect(try await store.claimDeliveries(now: SystemClock().now(), lease: .seconds(60), limit: 10, quota: .none).map(\.attempts) == [1],
                "the page was never claimed")
        try await store.close()
    }

    /// `kill -HUP` (a "reload" to Prometheus and Alertmanager) must not end the server on
    /// the spot, which would cut pages in flight: it says it does not reload and goes on;
    /// SIGTERM still stops it gracefully.
    @Test("SIGHUP is logged and ignored; the server goes on, and SIGTERM stops it cleanly")
    func aHangupDoesNotStopTheServer() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-hup")
        defer { dir.remove() }
        try Self.writeServerFile(in: dir)
        let port = try freeLocalPort()
        /// The server on this directory's store, logging to `log`.
        func serve() throws -> ChildProcess {
            let process = try ChildProcess.start(try Paths.alertbridgeBinary(), [
                "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(port)",
                "--store", "sqlite:\(dir.path("alertbridge.db"))",
            ], output: dir.path("log"), errors: dir.path("log"))
            ParentWatch.kill(process.pid)
            return process
        }
        let process = try serve()
        defer { process.signal(SIGKILL) }
        func healthy() async throws -> Bool? {
            (try? await HTTP.send("GET", "http://127.0.0.1:\(port)/healthz"))?.status == 200 ? true : nil
        }
        _ = try await eventually("the server to answer /healthz") { _ in try await healthy() }

        process.signal(SIGHUP)
        let said = try await eventually("the server to log the SIGHUP") { observed -> String? in
            observed = (try? String(contentsOfFile: dir.path("log"), encoding: .utf8)) ?? ""
            return observed.contains("SIGHUP: alertbridge does not reload its configuration") ? observed : nil
        }
        #expect(process.isRunning, "\(said)")
        // A first start creates its store and says where, with no warning about it.
        let file = URL(fileURLWithPath: dir.path("alertbridge.db")).standardizedFileURL.path
        #expect(said.contains("created a new store at \(file)") && !said.contains("holds no incident"), "\(said)")
        #expect(try await healthy() == true)

        process.terminate()
        #expect(await process.wait() == .exit(0))
        let output = (try? String(contentsOfFile: dir.path("log"), encoding: .utf8)) ?? ""
        #expect(output.contains("dispatcher stopped"), "a graceful stop: \(output)")

        // A later start on a store that exists and holds no incident says so, and where: a
        // wrong store: (an earlier build's file elsewhere) shows at once.
        try FileManager.default.removeItem(atPath: dir.path("log"))
        let again = try serve()
        defer { again.signal(SIGKILL) }
        _ = try await eventually("the server to answer /healthz again") { _ in try await healthy() }
        let warned = (try? String(contentsOfFile: dir.path("log"), encoding: .utf8)) ?? ""
        #expect(warned.contains("the store at \(file) holds no incident"), "\(warned)")
        again.terminate()
        _ = await again.wait()
    }

    /// A page that hangs (a receiver that never answers, a 5-minute `timeout`) holds a
    /// graceful stop for as long: SIGTERM waits for it, and a second SIGTERM stops at once,
    /// exit 1, with the store closed and the page left to go out again at the next start.
    @Test("a second SIGTERM stops at once and leaves the page in flight to go out again")
    func aSecondTerminationCutsPagesInFlightShort() async throws {
        let dir = try TemporaryDirectory("alertbridge-serve-second-term")
        defer { dir.remove() }
        let receiver = try ListeningSocket()
        defer { receiver.close() }
        try """
            rules: \(Paths.repoRoot.appendingPathComponent("rules").path)
            policies: \(Paths.repoRoot.appendingPathComponent("escalation-policies").path)
            connectors:
              hook: {type: webhook, url: "http://127.0.0.1:\(receiver.port)/hook"}
            delivery: {timeout: 5m}
            """.write(toFile: dir.path("alertbridge.yaml"), atomically: false, encoding: .utf8)
        let policy = EscalationPolicy(name: "hooked", tiers: [
            .init(name: "first", notify: [.init(connector: "hook")], escalateAfter: .seconds(600)),
        ])
        let alert = Alert(source: "t", status: .firing, severity: .critical, summary: "s", labels: ["alertname": "X"])
        let routed = RoutedAlert(alert: alert, rule: "r", dedupKey: "X", policy: "hooked", escalationPolicy: policy)
        var store: any IncidentStore = try await SQLiteStore.open(path: dir.path("alertbridge.db"), logger: Logger(label: "test"))
        let id = try #require(try await store.ingest([routed], now: SystemClock().now())[0].incidentID)
        try await store.close()

        let process = try ChildProcess.start(try Paths.alertbridgeBinary(), [
            "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(try freeLocalPort())",
            "--store", "sqlite:\(dir.path("alertbridge.db"))",
        ], output: dir.path("log"), errors: dir.path("log"))
        ParentWatch.kill(process.pid)
        defer { process.signal(SIGKILL) }
        func log() -> String { (try? String(contentsOfFile: dir.path("log"), encoding: .utf8)) ?? "" }
        _ = try await eventually("the page to reach the receiver") { observed -> Bool? in
            observed = log()
            return receiver.hasCaller ? true : nil
        }

        process.terminate()
        // Both lines, in either order: the group and the notice each take the signal.
        let waiting = try await eventually("the stop to wait for the page, and say how to stop at once") { observed -> String? in
            observed = log()
            return observed.contains("shutting down: finishing 1 delivery in flight")
                && observed.contains("SIGTERM: shutting down; send it again to stop at once") ? observed : nil
        }
        #expect(process.isRunning, "\(waiting)")

        process.terminate()
        _ = try await eventually("the server to stop without waiting out the page's 5 minutes") { observed -> Bool? in
            observed = log()
            return process.isRunning ? nil : true
        }
        #expect(await process.wait() == .exit(1))
        let output = log()
        #expect(output.contains("dispatcher stopped: deliveries in flight were cut short and go out again"), "\(output)")
        #expect(!output.contains("until it delivers again"), "a send cut short is no outage of the connector: \(output)")
        #expect(output.hasSuffix("alertbridge: stopped at once on a second SIGTERM: pages in flight were cut short and go out again\n"),
                "\(output)")
        store = try await SQLiteStore.open(path: dir.path("alertbridge.db"), logger: Logger(label: "test"))
        let pending = try await store.claimDeliveries(now: SystemClock().now(), lease: .seconds(60), limit: 10, quota: .none)
        #expect(pending.map(\.connector) == ["hook"], "the page goes out again at the next start, at once")
        let timeline = try #require(try await store.incident(id: id)).timeline
        #expect(timeline.contains { $0.kind == .deliveryFailed && $0.detail?.contains("interrupted by shutdown") == true },
                "\(timeline)")
        try await store.close()
    }
}
