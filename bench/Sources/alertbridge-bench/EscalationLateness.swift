import AlertBridgeCore
import AlertBridgeServer
import AlertBridgeStore
import ArgumentParser
import Foundation
import Logging

/// Escalation lateness (due → paged) on the SQLite store, with the real engine.
///
/// Ingests N incidents straight into a fresh SQLite store, each with a policy whose
/// tier 1 escalates after 60 s, and picks each incident's creation time so that the
/// tier-2 due times (created + 60 s) are spread evenly over `--spread-seconds` from
/// the moment the engine starts. Then runs `EscalationEngine` with the system clock
/// until every incident has reached tier 2, and reports for each incident:
///
/// - decided: the time its tier-2 page was written (the `now` of the engine's
///   transaction, which is the outbox row's `created_at` and the incident's
///   `tierPagedAt`) minus its due time;
/// - committed: the moment that transaction had committed minus its due time
///   (measured by a pass-through store around the SQLite one).
struct EscalationLateness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "escalation-lateness",
        abstract: "Measure escalation lateness (due → tier-2 page) with the real engine on SQLite.")

    @Option(help: "Open incidents to escalate.")
    var incidents = 10_000

    @Option(help: "Seconds over which the tier-2 due times are spread.")
    var spreadSeconds = 60

    @Option(help: "Incidents per ingest transaction; they share one creation time and so one due time.")
    var perTransaction = 1

    @Option(help: "Seconds from the start of ingest to the first due time (default: estimated from a calibration ingest).")
    var leadSeconds: Int?

    @Flag(help: "Keep the temporary database and print its path.")
    var keepDatabase = false

    static let escalateAfter = Duration.seconds(60)
    static let policy = EscalationPolicy(
        name: "bench-escalation",
        tiers: [
            .init(name: "tier-1", notify: [.init(connector: "console")], escalateAfter: escalateAfter),
            .init(name: "tier-2", notify: [.init(connector: "console")], escalateAfter: .seconds(3600)),
        ])

    func validate() throws {
        guard incidents > 0 else { throw ValidationError("--incidents must be positive") }
        guard spreadSeconds > 0 else { throw ValidationError("--spread-seconds must be positive") }
        guard perTransaction > 0 else { throw ValidationError("--per-transaction must be positive") }
        if let leadSeconds, leadSeconds <= 0 { throw ValidationError("--lead-seconds must be positive") }
    }

    func run() async throws {
        var logger = Logger(label: "alertbridge-bench")
        logger.logLevel = .warning
        let clock = SystemClock()
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("alertbridge-bench-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer {
            if keepDatabase {
                print("database kept: \(dir.path)/escalation.db")
            } else {
                try? FileManager.default.removeItem(at: dir)
            }
        }

        let lead = try await leadTime(dir: dir, logger: logger)
        let sqlite = try await SQLiteStore.open(path: dir.appendingPathComponent("escalation.db").path, logger: logger)
        let store = CommitTimingStore(sqlite, clock: clock)

        // Group g of G shares one due time: t0 + spread * g / G.
        let groups = (incidents + perTransaction - 1) / perTransaction
        let spreadMs = Int64(spreadSeconds) * 1000
        let ingestStart = clock.now()
        let t0 = ingestStart + lead
        var lastDue = t0
        var made = 0
        for g in 0..<groups {
            let due = Timestamp(milliseconds: t0.milliseconds + spreadMs * Int64(g) / Int64(groups))
            lastDue = due
            let count = min(perTransaction, incidents - made)
            let batch = (made..<(made + count)).map(Self.routed)
            _ = try await store.ingest(batch, now: due - Self.escalateAfter)
            made += count
        }
        let ingestEnd = clock.now()
        let ingestSeconds = Double(ingestEnd.milliseconds - ingestStart.milliseconds) / 1000
        guard ingestEnd < t0 else {
            try? await sqlite.close()
            throw Failure("ingest took \(ingestSeconds) s, past the first due time; rerun with a larger --lead-seconds")
        }

        // The real engine, as `serve` builds it, on the system clock.
        let app = AlertBridgeApplication(store: store, rules: RuleSet(rules: []), policies: [Self.policy.name: Self.policy],
                                         clock: clock)
        let engine = app.engine(logger: logger)
        let task = Task { try await engine.run() }

        // Done when nothing due is left at or before the last tier-2 due time (tier 2
        // escalates after an hour, so an escalated incident's next due time is far off).
        let deadline = lastDue + .seconds(30)
        var finished = false
        while clock.now() < deadline {
            try await Task.sleep(for: .milliseconds(250))
            if let next = try await sqlite.nextEscalationDue(), next <= lastDue { continue }
            finished = true
            break
        }
        task.cancel()
        _ = try? await task.value

        let all = try await sqlite.incidents(IncidentQuery(status: .all, limit: incidents + 1))
        let commits = store.commitTimes()
        var decided: [Int64] = []
        var committed: [Int64] = []
        decided.reserveCapacity(all.count)
        committed.reserveCapacity(all.count)
        var notEscalated = 0
        for incident in all {
            guard incident.tier == 2, let pagedAt = incident.escalation.tierPagedAt else {
                notEscalated += 1
                continue
            }
            let due = incident.createdAt + Self.escalateAfter
            decided.append(pagedAt.milliseconds - due.milliseconds)
            if let end = commits[pagedAt.milliseconds] { committed.append(end - due.milliseconds) }
        }
        let mismatches = try await crossCheck(all, store: sqlite)
        try await sqlite.close()

        print("escalation lateness: SQLite store, \(incidents) open incidents, tier-2 due times spread over \(spreadSeconds) s")
        print(String(format: "  ingest: %d incidents in %d transactions (%d per transaction) in %.2f s; first due %.1f s after ingest began",
                     made, groups, perTransaction, ingestSeconds, Double(lead.milliseconds) / 1000))
        print("  engine: \(commits.count) passes, \(decided.count) incidents escalated to tier 2, \(notEscalated) not escalated\(finished ? "" : " (gave up waiting)")")
        print("  cross-check of the tier-2 page time against the timeline: \(mismatches) mismatches")
        print("  decided  (page written, outbox created_at - due): \(Summary(decided))")
        print("  committed (transaction committed - due):          \(Summary(committed))")
        let d = Summary(decided), c = Summary(committed)
        print("LATENESS count=\(d.count) p50=\(d.p50) p90=\(d.p90) p99=\(d.p99) max=\(d.max) "
              + "committed_p50=\(c.p50) committed_p99=\(c.p99) committed_max=\(c.max) missing=\(notEscalated)")
        if notEscalated > 0 || mismatches > 0 || !finished {
            throw Failure("\(notEscalated) incidents not escalated, \(mismatches) timeline mismatches")
        }
    }

    /// Incident number `n`: one alert with a distinct dedup key, on the bench policy.
    static func routed(_ n: Int) -> RoutedAlert {
        let labels = ["alertname": "BenchEscalation", "incident": String(n)]
        let alert = Alert(source: "alertbridge-bench", status: .firing, severity: .warning,
                          summary: "escalation lateness incident \(n)", labels: labels)
        return RoutedAlert(alert: alert, rule: "bench", dedupKey: "BenchEscalation/\(n)", policy: policy.name,
                           escalationPolicy: policy)
    }

    /// Time to leave for the ingest: 1.5× what a calibration ingest of the same shape
    /// into a throwaway store predicts, plus 2 s.
    func leadTime(dir: URL, logger: Logger) async throws -> Duration {
        if let leadSeconds { return .seconds(leadSeconds) }
        let path = dir.appendingPathComponent("calibration.db").path
        let store = try await SQLiteStore.open(path: path, logger: logger)
        let clock = SystemClock()
        let sample = min(incidents, max(perTransaction, 500))
        let start = clock.now()
        var made = 0
        while made < sample {
            let count = min(perTransaction, sample - made)
            _ = try await store.ingest((made..<(made + count)).map(Self.routed), now: clock.now())
            made += count
        }
        let perIncident = Double(clock.now().milliseconds - start.milliseconds) / Double(sample)
        try await store.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        return .milliseconds(Int64(perIncident * Double(incidents) * 1.5) + 2000)
    }

    /// Every 100th incident: the last `paged` entry of its timeline is its tier-2 page,
    /// at the same time as its escalation state says.
    func crossCheck(_ incidents: [Incident], store: SQLiteStore) async throws -> Int {
        var mismatches = 0
        for incident in incidents.enumerated().filter({ $0.offset % 100 == 0 }).map(\.element) {
            let timeline = try await store.incident(id: incident.id)?.timeline ?? []
            let lastPage = timeline.last { $0.kind == .paged }
            if lastPage?.at != incident.escalation.tierPagedAt || lastPage?.detail?.hasPrefix("tier 2") != true {
                mismatches += 1
            }
        }
        return mismatches
    }
}

/// count, p50, p90, p99 and max of millisecond samples (nearest rank).
struct Summary: CustomStringConvertible {
    var count: Int
    var p50: Int64 = 0, p90: Int64 = 0, p99: Int64 = 0, max: Int64 = 0

    init(_ samples: [Int64]) {
        let sorted = samples.sorted()
        count = sorted.count
        guard !sorted.isEmpty else { return }
        func rank(_ p: Double) -> Int64 { sorted[Swift.max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)] }
        p50 = rank(50)
        p90 = rank(90)
        p99 = rank(99)
        max = sorted[sorted.count - 1]
    }

    var description: String { "count \(count)  p50 \(p50) ms  p90 \(p90) ms  p99 \(p99) ms  max \(max) ms" }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
