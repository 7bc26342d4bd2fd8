import AlertBridgeCore
import AlertBridgeStore
import Hummingbird

/// Decodes, validates, routes and commits alerts; shared by every ingest format.
///
/// Decoding and routing run on the request's own task (in parallel across cores);
/// only the commit is serialised, and the store commits concurrent requests together.
public struct Ingestor: Sendable {
    let rules: RuleSet
    let policies: [String: EscalationPolicy]
    /// Per rule with `severity_policies`, its loaded policy of every severity: built once,
    /// so each routed alert only shares a reference to it.
    let severityPolicies: [String: [Severity: EscalationPolicy]]
    let store: any IncidentStore
    let limits: IngestLimits
    let metrics: ServerMetrics
    let clock: any WallClock
    let wakeups: [Wakeup]

    public init(rules: RuleSet, policies: [String: EscalationPolicy], store: any IncidentStore, limits: IngestLimits,
                metrics: ServerMetrics, clock: any WallClock, wakeups: [Wakeup]) {
        self.rules = rules
        self.policies = policies
        var bySeverity: [String: [Severity: EscalationPolicy]] = [:]
        for rule in rules.rules where !rule.policyBySeverity.isEmpty {
            bySeverity[rule.name] = Dictionary(uniqueKeysWithValues: Severity.allCases.compactMap { severity in
                policies[rule.policy(at: severity)].map { (severity, $0) }
            })
        }
        severityPolicies = bySeverity
        self.wakeups = wakeups
        self.store = store
        self.limits = limits
        self.metrics = metrics
        self.clock = clock
    }

    /// Native alerts: a JSON object answers an object, an array answers an array.
    func native(_ body: ByteBuffer) async throws -> Response {
        let decoded = try IngestJSON.nativeAlerts(from: body, limits: limits)
        let outcomes = try await commit(decoded.alerts, format: "native")
        return IngestAnswer.response(outcomes, single: !decoded.isArray)
    }

    /// Alertmanager webhook v4.
    func alertmanager(_ body: ByteBuffer) async throws -> Response {
        let alerts = try IngestJSON.alertmanagerAlerts(from: body, limits: limits)
        let outcomes = try await commit(alerts, format: "alertmanager")
        return IngestAnswer.response(outcomes)
    }

    /// Routes and commits; answers one outcome per alert (the first rule's, when a
    /// rule says `continue`). Store failures become 503 so senders retry.
    func commit(_ alerts: [Alert], format: String) async throws -> [IngestOutcome] {
        metrics.received[format]?.increment(by: alerts.count)
        var routed: [RoutedAlert] = []
        var firstIndex: [Int] = []
        routed.reserveCapacity(alerts.count)
        for alert in alerts {
            firstIndex.append(routed.count)
            for var r in rules.route(alert) {
                addPolicies(&r)
                routed.append(r)
            }
        }
        let outcomes = try await reachingHeldAlerts(routed, try await store(routed))
        return firstIndex.map { outcomes[$0] }
    }

    /// A recovery that found no incident holding its alert under its key reaches the open
    /// incidents that hold that alert (by fingerprint), as Alertmanager resolves an alert by
    /// its labels: after a rule's `dedup_key` changed, a PoP-down's recovery answered
    /// `resolved` with no incident, and its open incident went on holding every new
    /// symptom of the PoP until someone resolved it by hand (black-box round 39). One
    /// look-up and one commit for all such recoveries of a request.
    private func reachingHeldAlerts(_ routed: [RoutedAlert], _ outcomes: [IngestOutcome]) async throws -> [IngestOutcome] {
        let missed = routed.indices.filter {
            routed[$0].alert.status == .resolved && outcomes[$0].kind == .resolved && outcomes[$0].incidentID == nil
        }
        guard !missed.isEmpty else { return outcomes }
        let held = try await store.openAlerts(fingerprints: missed.map { routed[$0].alert.fingerprint })
        guard !held.isEmpty else { return outcomes }
        let reached = try await store(recoveries(of: held))
        var outcomes = outcomes
        for i in missed {
            let fingerprint = routed[i].alert.fingerprint
            if let j = held.indices.first(where: { held[$0].alert.fingerprint == fingerprint && reached[$0].incidentID != nil }) {
                outcomes[i] = reached[j]
            }
        }
        return outcomes
    }

    /// The recovery of alerts as open incidents hold them, reaching exactly those: each
    /// routed as its rules route it now, under its incident's own key (a template changed
    /// since, or a key from before a template applied, would miss it).
    func commitRecovery(_ held: [HeldAlert], format: String) async throws {
        metrics.received[format]?.increment()
        _ = try await store(recoveries(of: held))
    }

    private func recoveries(of held: [HeldAlert]) -> [RoutedAlert] {
        let now = clock.now()
        return held.map { held in
            let fired = held.alert
            let alert = Alert(source: fired.source, status: .resolved, severity: fired.severity, summary: fired.summary,
                              labels: fired.labels, annotations: fired.annotations, fingerprint: fired.fingerprint,
                              startsAt: fired.startsAt, endsAt: now)
            var r = rules.route(alert).first { $0.rule == held.incident.rule }
                ?? RoutedAlert(alert: alert, rule: held.incident.rule, dedupKey: held.incident.dedupKey, policy: held.incident.policy)
            r.dedupKey = held.incident.dedupKey
            addPolicies(&r)
            return r
        }
    }

    private func addPolicies(_ r: inout RoutedAlert) {
        r.escalationPolicy = policies[r.policy]
        if !severityPolicies.isEmpty { r.severityPolicies = severityPolicies[r.rule] ?? [:] }
    }

    /// Commits routed alerts; a store failure becomes 503 so senders retry.
    private func store(_ routed: [RoutedAlert]) async throws -> [IngestOutcome] {
        let start = clock.now()
        let outcomes: [IngestOutcome]
        do {
            outcomes = try await store.ingest(routed, now: start)
        } catch {
            metrics.storeFailures.increment()
            // Why, when the store knows (a database that is down, a full disk): the sender's
            // log is where someone looks first.
            let why = StoreError.unavailableReason(error).map { " (\($0))" } ?? ""
            throw APIError(.serviceUnavailable, "the store could not commit the alerts\(why); retry", retryAfterSeconds: 1)
        }
        metrics.commitSeconds.recordMilliseconds(clock.now().milliseconds - start.milliseconds)
        if outcomes.contains(where: { $0.kind != .merged || $0.startedPaging || $0.stepDueNow }) { wake() }
        for outcome in outcomes { metrics.outcomes[outcome.kind]?.increment() }
        let tierPages = outcomes.reduce(0) { $0 + $1.tierPages }
        if tierPages > 0 { metrics.escalationPages.increment(by: tierPages) }
        return outcomes
    }

    /// Wakes the engine and the dispatcher after a write that may have made work due.
    func wake() {
        for wakeup in wakeups { wakeup.signal() }
    }
}
