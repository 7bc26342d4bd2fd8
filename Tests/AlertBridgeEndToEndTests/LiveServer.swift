import AlertBridgeConfig
import AlertBridgeCore
import AlertBridgeServer
import AlertBridgeStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// An in-process alertbridge on 127.0.0.1 with a free port, a temporary SQLite file and
/// the shipped `rules/` and `escalation-policies/`, running for the duration of ``with(_:)``.
struct LiveServer: Sendable {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    let baseURL: String
    let api: API

    /// Starts a server, runs `body` against it, then stops the server and removes its files,
    /// also when `body` throws. With `tokens`, requests need one, as with `tokens:` in alertbridge.yaml.
    static func with(heartbeats: [Heartbeat] = [], tokens: [TokenConfig] = [], retention: Duration? = nil,
                     _ body: (LiveServer) async throws -> Void) async throws {
        let directory = try TemporaryDirectory("alertbridge-e2e")
        defer { directory.remove() }

        let logger = {
            var logger = Logger(label: "alertbridge-e2e")
            logger.logLevel = .warning
            return logger
        }()
        let config = try loadShippedConfig(in: directory)
        // Without the shipped pop-down rule's inhibit `wait` (10s on a real clock) and the
        // edge rules' `keep_open_for` (2m): these tests drive operators' flows against
        // incidents that page at once and resolve when their alerts do. Both have their own
        // tests, on an injected clock (InhibitWaitTests, EscalationEngineTests, the store
        // conformance).
        let rules = RuleSet(rules: config.rules.rules.map { rule in
            var rule = rule
            rule.inhibit?.wait = .zero
            rule.keepOpenFor = .zero
            return rule
        })
        let store = try await SQLiteStore.open(path: directory.path("alertbridge.db"), logger: logger)
        // As `alertbridge serve` builds it, with the default (console) connectors.
        let app = AlertBridgeApplication(store: store, rules: rules, policies: config.policies,
                                         tokens: tokens, maxBodyBytes: config.server.maxBodyBytes, heartbeats: heartbeats,
                                         retention: retention)

        let (ports, portsContinuation) = AsyncStream.makeStream(of: Int.self)
        let service = app.application(host: "127.0.0.1", port: 0, logger: logger, onServerRunning: { port in
            portsContinuation.yield(port)
        })
        // No signal handlers: SIGINT and SIGTERM stay with the test runner.
        let serviceGroup = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Ends the stream however the server stops, so a failed bind cannot hang the wait below.
                    defer { portsContinuation.finish() }
                    try await serviceGroup.run()
                }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else {
                    // The server stopped before listening: surface its error.
                    try await group.waitForAll()
                    throw E2EError("alertbridge stopped before it was listening")
                }
                let base = "http://127.0.0.1:\(port)"
                do {
                    let operate = tokens.first { $0.scopes.contains(.operate) }?.secret
                    try await body(LiveServer(baseURL: base, api: API(baseURL: base, token: operate)))
                } catch {
                    await serviceGroup.triggerGracefulShutdown()
                    _ = try? await group.waitForAll()
                    throw error
                }
                await serviceGroup.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    /// The shipped rules and policies. `ConfigLoader` resolves relative directories against
    /// the current directory (or the server file's directory), and tests must not `chdir`,
    /// so a temporary server file names them by absolute path.
    private static func loadShippedConfig(in directory: TemporaryDirectory) throws -> LoadedConfig {
        let file = directory.path("alertbridge.yaml")
        let rules = Paths.repoRoot.appendingPathComponent("rules").path
        let policies = Paths.repoRoot.appendingPathComponent("escalation-policies").path
        // JSON strings are valid YAML scalars, whatever the path contains.
        try """
            rules: \(jsonString(rules))
            policies: \(jsonString(policies))
            """.write(toFile: file, atomically: false, encoding: .utf8)
        do {
            return try ConfigLoader.load(configFile: file)
        } catch {
            throw E2EError("the shipped configuration does not load:\n\(error.problems.map(String.init(describing:)).joined(separator: "\n"))")
        }
    }

    private static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }
}

/// The server's HTTP API as the tests use it.
struct API: Sendable {
    let baseURL: String
    /// Sent as the bearer token when the server has tokens: one with the operate scope.
    var token: String?

    struct Incident: Decodable, Sendable {
        struct Alert: Decodable, Sendable {
            var fingerprint: String
            var status: String
            var labels: [String: String]
            var annotations: [String: String]?
        }

        struct Entry: Decodable, Sendable, CustomStringConvertible {
            var at: String
            var kind: String
            var by: String?
            var detail: String?
            var description: String { "\(kind) by \(by ?? "-"): \(detail ?? "")" }
        }

        var id: Int64
        var status: String
        var dedupKey: String
        var title: String
        var severity: String
        var alertCount: Int
        var firingAlerts: Int
        var tier: Int
        var acknowledgedBy: String?
        var resolvedBy: String?
        var alerts: [Alert]?
        var timeline: [Entry]?
    }

    private struct IncidentList: Decodable {
        var incidents: [Incident]
    }

    struct IngestResult: Decodable, Sendable {
        var incidentId: Int64?
        var dedupKey: String
        var outcome: String
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    func incidents(status: String = "all") async throws -> [Incident] {
        let response = try await HTTP.send("GET", baseURL + "/api/v1/incidents?status=\(status)", token: token)
        try response.expect(200)
        return try Self.decoder.decode(IncidentList.self, from: response.body).incidents
    }

    func incident(_ id: Int64) async throws -> Incident {
        let response = try await HTTP.send("GET", baseURL + "/api/v1/incidents/\(id)", token: token)
        try response.expect(200)
        return try Self.decoder.decode(Incident.self, from: response.body)
    }

    /// Posts a JSON body to an ingest endpoint and expects 202.
    @discardableResult
    func ingest(_ path: String, _ body: Data) async throws -> Data {
        let response = try await HTTP.send("POST", baseURL + path, body: body, token: token)
        try response.expect(202)
        return response.body
    }
}

/// A temporary directory, removed by ``remove()``.
struct TemporaryDirectory: Sendable {
    let url: URL

    init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Where the repository, the shared fixtures and the built binary are.
enum Paths {
    /// `<repo>/Tests/AlertBridgeEndToEndTests/LiveServer.swift` → `<repo>`.
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `shared/fixtures`, next to the repository (`/work/shared/fixtures` for `/work/main`).
    static let fixtures = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    /// The `alertbridge` executable `swift build --build-tests` made: next to the running
    /// test binary, else in `<repo>/.build/debug`.
    static func alertbridgeBinary() throws -> String {
        var candidates: [String] = []
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("alertbridge").path)
        }
        candidates.append(repoRoot.appendingPathComponent(".build/debug/alertbridge").path)
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw E2EError("the alertbridge binary is not built; looked at \(candidates.joined(separator: ", "))")
        }
        return found
    }

    /// The first executable called `name` in `$PATH`.
    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
