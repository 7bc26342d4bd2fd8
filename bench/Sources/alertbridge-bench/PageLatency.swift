import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeServer
import AlertBridgeStore
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// Alert-to-page latency: from the 202 of an ingest request that creates an incident
/// to the moment a local webhook receiver has the page.
///
/// Runs, in this one process: a live alertbridge (the real HTTP app, escalation engine
/// and dispatcher on a temporary SQLite store) whose only rule pages every new incident
/// through a signed `webhook` connector, and a Hummingbird receiver on 127.0.0.1 that
/// notes when each incident's page arrives. Posts N native alerts with distinct labels
/// (N new incidents), one per request, `--concurrency` requests in flight, through
/// libcurl. Both ends read the same monotonic clock.
///
/// Reports `202 → seen` (the number asked for; negative when the page overtook the
/// response) and `sent → seen` (from the start of the request).
struct PageLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "page-latency",
        abstract: "Measure alert-to-page latency (202 → webhook received) for new incidents.")

    @Option(help: "New incidents to create (one alert per request).")
    var incidents = 1000

    @Option(help: "Ingest requests in flight at once.")
    var concurrency = 8

    func validate() throws {
        guard incidents > 0 else { throw ValidationError("--incidents must be positive") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
    }

    static let policy = EscalationPolicy(name: "bench-page", tiers: [
        .init(name: "noc", notify: [.init(connector: "hook")], escalateAfter: .seconds(3600)),
    ])

    func run() async throws {
        var logger = Logger(label: "alertbridge-bench")
        logger.logLevel = .warning
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("alertbridge-bench-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        let seen = Arrivals()
        let receiverRouter = Router()
        receiverRouter.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let at = ContinuousClock.now
            if let page = try? JSONDecoder().decode(PageBody.self, from: Data(body.readableBytesView)) {
                seen.record(page.incident.id, at: at)
            }
            return Response(status: .ok)
        }
        let (receiverPorts, receiverPort) = AsyncStream.makeStream(of: Int.self)
        let receiver = Application(router: receiverRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                   onServerRunning: { receiverPort.yield($0.localAddress?.port ?? 0) }, logger: logger)

        let store = try await SQLiteStore.open(path: dir.appendingPathComponent("alertbridge.db").path, logger: logger)
        let (appPorts, appPort) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(services: [receiver], gracefulShutdownSignals: [], logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var ports = receiverPorts.makeAsyncIterator()
            guard let port = await ports.next() else { throw Failure("the receiver did not start") }

            let connectors: [String: any Connector] = [
                "hook": WebhookConnector(url: "http://127.0.0.1:\(port)/hook", secret: "bench-secret"),
            ]
            let app = AlertBridgeApplication(
                store: store, rules: RuleSet(rules: [Rule(name: "bench", policy: Self.policy.name)]),
                policies: [Self.policy.name: Self.policy], connectors: connectors)
            let server = app.application(host: "127.0.0.1", port: 0, logger: logger,
                                         onServerRunning: { appPort.yield($0) })
            let appGroup = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: logger)
            tasks.addTask { try await appGroup.run() }
            var appIterator = appPorts.makeAsyncIterator()
            guard let base = await appIterator.next().map({ "http://127.0.0.1:\($0)" }) else {
                throw Failure("alertbridge did not start")
            }

            let accepted = try await post(to: base + "/api/v1/alerts")
            let deadline = ContinuousClock.now + .seconds(60)
            while seen.count < incidents && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            await appGroup.triggerGracefulShutdown()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            try await store.close()
            report(accepted, seen)
        }
    }

    /// Posts the alerts; returns, per incident, when its request was sent and when its 202 came.
    private func post(to url: String) async throws -> [Int64: (sent: ContinuousClock.Instant, accepted: ContinuousClock.Instant)] {
        let transport = CurlTransport(connectTimeout: .seconds(5), totalTimeout: .seconds(30))
        let next = Ticket()
        let total = incidents
        let run = "\(UInt32.random(in: 0...UInt32.max))"
        return try await withThrowingTaskGroup(
            of: [(Int64, ContinuousClock.Instant, ContinuousClock.Instant)].self
        ) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var out: [(Int64, ContinuousClock.Instant, ContinuousClock.Instant)] = []
                    while true {
                        guard let n = next.take(below: total) else { return out }
                        let alert: [String: Any] = [
                            "source": "bench", "status": "firing", "severity": "critical",
                            "summary": "p95 latency 1.4s at POP\(n % 50) (threshold 800ms)",
                            "labels": ["alertname": "EdgeLatencyHigh", "pop": "POP\(n % 50)", "service": "cdn-edge",
                                       "instance": "edge-\(n)", "run": run],
                            "value": 1.4, "threshold": 0.8,
                        ]
                        let body = try JSONSerialization.data(withJSONObject: alert)
                        let sent = ContinuousClock.now
                        let response = try await transport.post(url: url, headers: [("Content-Type", "application/json")],
                                                                body: Array(body))
                        let accepted = ContinuousClock.now
                        guard response.status == 202,
                              let result = try? JSONDecoder().decode(IngestResult.self, from: Data(response.body)),
                              result.outcome == "created", let id = result.incident_id else {
                            throw Failure("alert \(n): HTTP \(response.status) \(String(decoding: response.body, as: UTF8.self))")
                        }
                        out.append((id, sent, accepted))
                    }
                }
            }
            var all: [Int64: (sent: ContinuousClock.Instant, accepted: ContinuousClock.Instant)] = [:]
            for try await part in group {
                for (id, sent, accepted) in part { all[id] = (sent, accepted) }
            }
            return all
        }
    }

    private func report(_ accepted: [Int64: (sent: ContinuousClock.Instant, accepted: ContinuousClock.Instant)],
                        _ seen: Arrivals) {
        let arrivals = seen.snapshot()
        var fromAccepted: [Double] = []
        var fromSent: [Double] = []
        for (id, times) in accepted {
            guard let at = arrivals.first[id] else { continue }
            fromAccepted.append(Self.milliseconds(at - times.accepted))
            fromSent.append(Self.milliseconds(at - times.sent))
        }
        let missing = accepted.count - fromAccepted.count
        print("page latency: \(accepted.count) new incidents, one alert per request, \(concurrency) in flight; "
              + "webhook connector → local receiver; SQLite store")
        print("  202 → seen:  \(Percentiles(fromAccepted))")
        print("  sent → seen: \(Percentiles(fromSent))")
        print("  pages seen \(arrivals.first.count), repeated \(arrivals.repeats), missing \(missing)")
        let a = Percentiles(fromAccepted)
        print(String(format: "PAGE_LATENCY count=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f missing=%d repeated=%d",
                     a.count, a.p50, a.p90, a.p99, a.max, missing, arrivals.repeats))
    }

    static func milliseconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) * 1000 + Double(atto) / 1e15
    }

    private struct PageBody: Decodable {
        struct Incident: Decodable { var id: Int64 }
        var incident: Incident
    }

    private struct IngestResult: Decodable {
        var incident_id: Int64?
        var outcome: String
    }
}

/// Hands out 0, 1, 2, ... to the posting tasks.
private final class Ticket: Sendable {
    private let next = Mutex(0)

    func take(below limit: Int) -> Int? {
        next.withLock { n in
            guard n < limit else { return nil }
            defer { n += 1 }
            return n
        }
    }
}

/// When each incident's first page arrived, and how many pages came again.
private final class Arrivals: Sendable {
    private let state = Mutex<(first: [Int64: ContinuousClock.Instant], repeats: Int)>(([:], 0))

    func record(_ id: Int64, at: ContinuousClock.Instant) {
        state.withLock { s in
            if s.first[id] == nil { s.first[id] = at } else { s.repeats += 1 }
        }
    }

    var count: Int { state.withLock { $0.first.count } }
    func snapshot() -> (first: [Int64: ContinuousClock.Instant], repeats: Int) { state.withLock { $0 } }
}

/// Nearest-rank percentiles of milliseconds.
private struct Percentiles: CustomStringConvertible {
    var count: Int
    var p50 = 0.0, p90 = 0.0, p99 = 0.0, max = 0.0

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        guard !sorted.isEmpty else { return }
        func rank(_ p: Double) -> Double { sorted[Swift.max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)] }
        p50 = rank(50)
        p90 = rank(90)
        p99 = rank(99)
        max = sorted[sorted.count - 1]
    }

    var description: String {
        String(format: "count %d  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms", count, p50, p90, p99, max)
    }
}
