import AlertBridgeCore
import Foundation

/// The repository every store implements: SQLite (embedded) and PostgreSQL.
///
/// One shared conformance suite runs against every implementation, so the server
/// never needs to know which one it has. Each method is one transaction.
public protocol IncidentStore: Sendable {
    /// Applies a batch of routed alerts, committed before it returns. Concurrent calls
    /// share transactions (group commit, see ``Batcher``); each gets its own outcomes.
    func ingest(_ batch: [RoutedAlert], now: Timestamp) async throws -> [IngestOutcome]
    /// Incidents newest first.
    func incidents(_ query: IncidentQuery) async throws -> [Incident]
    /// Incidents with their alerts and timelines, by id; ids that do not exist are left
    /// out. The dispatcher loads every page's incident of a claim in one call.
    func incidentDetails(ids: [Int64]) async throws -> [Int64: IncidentDetail]
    /// The open incidents of these rules: those of an incident's inhibiting rules, for
    /// `show`'s next step (``IncidentStore/openInhibitors(of:rules:)``).
    func openIncidents(rules: [String]) async throws -> [Incident]
    /// The open incidents holding an alert of these fingerprints, by incident id, each with
    /// that alert: PagerDuty's acknowledge and resolve name only the `dedup_key` of the
    /// trigger they follow up, and its incident's key may be a rule's template; and a
    /// recovery whose key found none looks for its alert (one look-up per request: one per
    /// recovery took 9.5 s for 10,000 on PostgreSQL, black-box round 40).
    func openAlerts(fingerprints: [String]) async throws -> [HeldAlert]
    /// Applies an operator action. Throws ``StoreError/notFound`` or ``IncidentAction/Refusal``.
    func act(_ action: IncidentAction, on id: Int64, now: Timestamp) async throws -> Incident
    /// `alertbridge escalate ID`: pages the next tier now, with the operator's note on the
    /// timeline and the page, by the policy `context` says its next page goes by
    /// (``EscalationContext/pagingPolicy(of:copy:)``), stored as its copy if that is new.
    /// Throws ``StoreError/notFound``, ``EscalationPlanner/Refusal``.
    func escalate(id: Int64, by: String, note: String?, now: Timestamp, context: EscalationContext) async throws -> Incident

    // MARK: Escalation engine

    /// The earliest `next_escalation_at` of any open incident.
    func nextEscalationDue() async throws -> Timestamp?
    /// Advances up to `limit` incidents whose due time has come, each with its policy
    /// snapshot, in one transaction that also writes their pages to the outbox.
    func advanceEscalations(now: Timestamp, limit: Int, context: EscalationContext) async throws -> EscalationReport

    // MARK: Notification outbox

    /// Claims up to `limit` due deliveries for `lease`: a claimed row is not handed out
    /// again until the lease ends, so a crash mid-delivery retries it (at least once).
    /// No connector gets more rows than its `quota` leaves it.
    func claimDeliveries(now: Timestamp, lease: Duration, limit: Int, quota: ClaimQuota) async throws -> [Delivery]
    /// Records the outcomes of claimed deliveries in one transaction (the dispatcher
    /// batches them, so a storm of pages does not cost an fsync each). A page delivered
    /// (wholly or in part) makes due at `now` every page of its connector that waits out a
    /// back-off (``DeliveryRecord/waitsOutBackoff``), whichever instance recorded it:
    /// returns how many.
    @discardableResult
    func recordDeliveries(_ outcomes: [DeliveryRecord], now: Timestamp) async throws -> Int
    /// The earliest time a pending delivery is due, of connectors not in `excluding`.
    func nextDeliveryDue(excluding: [String]) async throws -> Timestamp?
    /// Pages and notices not delivered yet, and when the oldest of them was decided: what
    /// shows an outage of a receiver while its pages are still being retried.
    func outboxBacklog() async throws -> OutboxBacklog
    /// The policies open incidents run, each as copied when the incident started it, with
    /// those incidents in id order: read at start, to say which run a copy the files no
    /// longer match. An incident nobody was paged for yet is left out: it takes its policy
    /// as loaded when it is first paged (``EscalationContext/advance(_:snapshot:now:silences:firingLabels:inhibitors:)``).
    func policiesInUse() async throws -> [PolicyInUse]
    /// Gives an open incident the key its rule's `dedup_key` renders now, with `why` on its
    /// timeline, so its alerts merge into it and recover it as before the template
    /// changed; read at start. Not when an incident of that key is open, or one newer than
    /// it was (the new key is taken already). Returns whether it did.
    func rekey(_ id: Int64, to key: String, because why: String, now: Timestamp) async throws -> Bool
    /// Moves an open incident's next look from `old` to `new`, if it is still at `old`;
    /// read at start, for one nobody was paged for yet whose policy was edited
    /// (``EscalationContext/pagingPolicy(of:copy:)``). Returns whether it did.
    func retime(_ id: Int64, from old: Timestamp?, to new: Timestamp?) async throws -> Bool

    // MARK: Retention

    /// Deletes, oldest first, up to `limit` incidents resolved before `cutoff` with their
    /// alerts, timeline and pages, and up to `limit` silences that ended before it
    /// (`retention:`, ``RetentionReport``). Not an incident with a page still being
    /// delivered, nor the newest incident, the incident of the newest page, or the newest
    /// silence: no id is given out twice.
    func deleteExpired(before cutoff: Timestamp, limit: Int) async throws -> RetentionReport
    /// The pages of each incident that nobody has received: those to its current tier since
    /// it was last paged that failed for good (a tier listed as paged whose people were not
    /// reached; an earlier tier's failures, and the tier's own before it was paged again,
    /// are history the timeline keeps), and those of any tier in this episode still
    /// retrying. Notices do not count; incidents with none are left out.
    func undeliveredPages(of incidents: [Incident]) async throws -> [Int64: UndeliveredPages]
    /// How many distinct alerts each incident holds, by fingerprint (its `alertCount` counts
    /// every firing copy: one alert re-sent 60 times read as 60 alerts in a listing).
    /// Incidents with none are left out.
    func distinctAlerts(of ids: [Int64]) async throws -> [Int64: Int]

    // MARK: Silences

    /// Stores a new silence and returns it with its id.
    func createSilence(_ silence: Silence) async throws -> Silence
    /// Silences newest first.
    func silences(_ query: SilenceQuery) async throws -> [Silence]
    /// Ends a silence now. The incidents it held become due at once, so the engine pages
    /// them unless another silence still holds them. Throws ``StoreError/silenceNotFound``
    /// or ``Silence/Refusal``.
    func expireSilence(id: Int64, by: String, now: Timestamp) async throws -> Silence
    /// Moves a silence's end later (``Silence/extended(to:by:comment:at:)``); returns it.
    /// What it holds stays held. Throws ``StoreError/silenceNotFound`` or ``Silence/Refusal``.
    func extendSilence(id: Int64, to end: Silence.End, by: String, comment: String?, now: Timestamp) async throws -> Silence

    // MARK: Heartbeats

    /// Every heartbeat that has pinged at least once.
    func heartbeats() async throws -> [HeartbeatState]
    /// Records a ping; answers the state before it (`nil` for a first ping). Its miss
    /// marks stay until ``clearHeartbeatMiss(_:)`` records the recovery.
    func pingHeartbeat(name: String, at now: Timestamp) async throws -> HeartbeatState?
    /// Marks these heartbeats' misses as being sent, each only if it has not pinged since
    /// the state was read; answers the names marked.
    func beginHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String>
    /// Marks these misses sent, each only if it has not pinged since the state was read;
    /// answers the names marked (the others pinged: their recovery is the caller's).
    func endHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String>
    /// Clears the miss marks of `state` once its recovery is committed, unless a newer
    /// miss changed them meanwhile.
    func clearHeartbeatMiss(_ state: HeartbeatState) async throws

    /// Succeeds when the store can serve requests (for `/readyz`).
    func ping() async throws
    func close() async throws
}

extension IncidentStore {
    /// One incident with its alerts and timeline, or `nil`.
    public func incident(id: Int64) async throws -> IncidentDetail? {
        try await incidentDetails(ids: [id])[id]
    }

    /// A manual escalation without a note, by the incident's copy of its policy.
    public func escalate(id: Int64, by: String, now: Timestamp) async throws -> Incident {
        try await escalate(id: id, by: by, note: nil, now: now, context: EscalationContext())
    }

    /// The open incidents that inhibit every firing alert of an incident now, under `rules`,
    /// when it is already paging (or waits for one to open): its next step waits while one
    /// is open, as the engine decides when the step falls due. Empty for one held, which has
    /// its own hold.
    public func openInhibitors(of detail: IncidentDetail, rules: RuleSet) async throws -> [Incident] {
        let incident = detail.incident
        guard EscalationContext.holdsSteps(of: incident) else { return [] }
        let firing = detail.alerts.filter { $0.status == .firing }.map(\.labels)
        let candidates = (firing.isEmpty ? [incident.labels] : firing).flatMap { rules.inhibitCandidates(of: $0, rule: incident.rule) }
        guard !candidates.isEmpty else { return [] }
        let sources = try await openIncidents(rules: Array(Set(candidates.map(\.sourceRule))))
        return EscalationContext(rules: rules).inhibiting(incident, firing: firing) { rule in sources.filter { $0.rule == rule } }
    }
}

/// What an escalation pass takes from the running server besides the store.
public struct EscalationContext: Sendable {
    /// When this alertbridge started: the graces after it, for auto-resolve
    /// (``EscalationPlanner/autoResolveGrace``) and for steps that fell due while it was
    /// stopped (``EscalationPlanner/restartGrace``).
    public var startedAt: Timestamp?
    /// The loaded rules: which open incidents inhibit one already paging now.
    public var rules: RuleSet
    /// The loaded policies by name: what an incident nobody was paged for yet runs.
    public var policies: [String: EscalationPolicy]

    public init(startedAt: Timestamp? = nil, rules: RuleSet = RuleSet(rules: []), policies: [String: EscalationPolicy] = [:]) {
        self.startedAt = startedAt
        self.rules = rules
        self.policies = policies
    }

    /// Advances a due incident (``EscalationPlanner/advance(_:policy:now:silences:firingLabels:inhibitors:startedAt:)``)
    /// by its stored policy, or, when this step is its first page (held by a silence or an
    /// inhibition, in its inhibit wait, or acknowledged before anyone was paged), by the
    /// policy as loaded now: the one its rule names for its severity. An on-call change
    /// made while a maintenance window held an incident reached the old rotation when the
    /// window ended (black-box rounds 39 and 40).
    ///
    /// One held since it opened by incidents that inhibited it (``heldByInhibitors(_:)``)
    /// is held by those that inhibit every firing alert of it under the rules loaded now
    /// (`holding`), not by those it recorded: with the inhibit rule removed, or one of the
    /// two down PoPs that reported it up again, it stayed silent while any recorded one
    /// was open (black-box round 39). Those that resolved release it a minute after, as
    /// before; those still open that no longer hold it release it at once, said so.
    /// - Parameter holding: for one held by inhibitors, the open incidents that inhibit
    ///   every firing alert of it now (``inhibiting(_:firing:sources:)``); `nil` otherwise.
    /// - Returns: the decision, and the policy to store as the incident's snapshot when it
    ///   is not `snapshot` (the timeline says so).
    func advance(_ incident: Incident, snapshot: EscalationPolicy, now: Timestamp, silences: [Silence],
                 firingLabels: [Labels], inhibitors: [Incident],
                 holding: [Incident]? = nil) -> (EscalationPlanner.Decision, adopted: EscalationPolicy?) {
        var adopted = adoption(for: incident, copy: snapshot)
        var (incident, inhibitors) = (incident, inhibitors)
        var noLongerHeldBy: [Incident] = []
        if let holding, Self.heldByInhibitors(incident) {
            let resolved = inhibitors.filter { !$0.status.isOpen }
            if !holding.isEmpty {
                (incident.escalation.inhibitedBy, inhibitors) = (holding.map(\.id), holding)
            } else if !resolved.isEmpty {
                (incident.escalation.inhibitedBy, inhibitors) = (resolved.map(\.id), resolved)
            } else {
                noLongerHeldBy = inhibitors
                incident.escalation.inhibitedBy = []
                incident.escalation.heldUntil = nil
            }
        }
        var decision = EscalationPlanner.advance(incident, policy: adopted ?? snapshot, now: now, silences: silences,
                                                 firingLabels: firingLabels, inhibitors: inhibitors, startedAt: startedAt)
        if adopted != nil, !decision.incident.escalation.hasPaged {
            // Nothing paged yet (still held, or its timer by the loaded policy not run out):
            // its timers are the loaded policy's, but the policy is taken when it pages, and
            // said then, once (black-box round 40: said at every look while held, and again
            // after each later edit). Deciding by its copy instead paged by the copy when the
            // copy's ack_timeout was the shorter (round 41).
            adopted = nil
        }
        if !noLongerHeldBy.isEmpty {
            let ids = noLongerHeldBy.map(\.id)
            let (which, inhibits) = (EscalationPlanner.named(ids, in: noLongerHeldBy), ids.count == 1 ? "inhibits" : "inhibit")
            let paging = decision.pages.isEmpty ? "" : ", and this one is still open: paging"
            decision.timeline.insert(TimelineEntry(
                incidentID: incident.id, at: now, kind: .escalated, by: EscalationPlanner.engine,
                detail: "\(which) no longer \(inhibits) every alert of this one by the rules loaded now\(paging)"), at: 0)
        }
        if let adopted { adopt(adopted, over: snapshot, in: &decision, now: now) }
        return (decision, adopted)
    }

    /// The policy an incident's next page goes by: its copy (`copy`) once anyone was paged
    /// for it; before that, the one its rule names for its severity as loaded now, when one
    /// by that name is loaded. What ``advance(_:snapshot:now:silences:firingLabels:inhibitors:holding:)``,
    /// `alertbridge escalate` and `show`'s next step all go by (black-box round 40: a manual
    /// escalation of a held incident paged the rotation it had before an edit).
    public func pagingPolicy(of incident: Incident, copy: EscalationPolicy) -> EscalationPolicy {
        adoption(for: incident, copy: copy) ?? copy
    }

    /// `alertbridge escalate ID` (``EscalationPlanner/escalateNow(_:policy:now:by:note:)``) by
    /// the policy its next page goes by; returns it as `adopted` when it is not `copy`.
    func escalateNow(_ incident: Incident, copy: EscalationPolicy, now: Timestamp, by: String,
                     note: String?) throws(EscalationPlanner.Refusal) -> (EscalationPlanner.Decision, adopted: EscalationPolicy?) {
        let adopted = adoption(for: incident, copy: copy)
        var decision = try EscalationPlanner.escalateNow(incident, policy: adopted ?? copy, now: now, by: by, note: note)
        if let adopted { adopt(adopted, over: copy, in: &decision, now: now) }
        return (decision, adopted)
    }

    /// What `show` says when the policy an open incident goes by is not the one loaded now
    /// by its name (black-box round 39: only the start's log said an incident ran a copy
    /// edited or deleted since); `nil` when they are the same, or it is resolved.
    public func policyNote(of incident: Incident, copy: EscalationPolicy) -> String? {
        guard incident.status.isOpen else { return nil }
        if !incident.escalation.hasPaged {
            guard let adopted = adoption(for: incident, copy: copy) else {
                return loadedPolicy(for: incident) == nil
                    ? "no policy \"\(copy.name)\" is loaded now: its first page goes by its copy of it from when it opened" : nil
            }
            return adopted.name == copy.name
                ? "nobody was paged for it yet: its first page goes by policy \"\(copy.name)\" as loaded now, edited since it opened"
                : "nobody was paged for it yet: its first page goes by policy \"\(adopted.name)\", which rule \(incident.rule) names now"
        }
        let copyOf = "it goes by its copy of policy \"\(copy.name)\" as it was when it started paging"
        guard let loaded = policies[copy.name] else { return copyOf + "; the policy files no longer have it" }
        return loaded == copy ? nil : copyOf + "; the policy was edited since, and the edit applies to new incidents only"
    }

    /// The loaded policy an incident nobody was paged for yet takes in place of its copy,
    /// when that differs from the copy.
    func adoption(for incident: Incident, copy: EscalationPolicy) -> EscalationPolicy? {
        guard incident.status.isOpen, !incident.escalation.hasPaged, let loaded = loadedPolicy(for: incident),
              loaded != copy else { return nil }
        return loaded
    }

    /// Makes `decision`, the first page of an incident, go by `adopted` instead of its copy,
    /// and says so first on its timeline. The caller stores `adopted` as its copy.
    func adopt(_ adopted: EscalationPolicy, over copy: EscalationPolicy, in decision: inout EscalationPlanner.Decision,
               now: Timestamp) {
        let incident = decision.incident
        let why = adopted.name == copy.name
            ? "policy \(adopted.name) as loaded now, edited since it opened"
            : "policy \(adopted.name) instead of \(copy.name), which rule \(incident.rule) names now"
        decision.incident.policy = adopted.name
        decision.timeline.insert(TimelineEntry(incidentID: incident.id, at: now, kind: .alert, by: EscalationPlanner.engine,
                                               detail: "nobody was paged for it yet, so it escalates by \(why)"), at: 0)
    }

    /// Held since it opened, nobody paged yet, by the incidents that inhibited it
    /// (``EscalationState/inhibitedBy``), not in an inhibit wait.
    static func heldByInhibitors(_ incident: Incident) -> Bool {
        let e = incident.escalation
        return incident.status == .triggered && !e.hasPaged && !e.inhibitedBy.isEmpty && e.inhibitWaitFrom == nil
    }

    /// The loaded policy an incident of `incident`'s rule and severity starts now; `nil`
    /// when none by that name is loaded (it keeps its copy).
    func loadedPolicy(for incident: Incident) -> EscalationPolicy? {
        policies[rules.rule(named: incident.rule)?.policy(at: incident.severity) ?? incident.policy]
    }

    /// Whether the incident's next step (a tier, an ack timeout, the first page after an
    /// inhibit `wait`) waits while an incident that inhibits it is open: one open that paged
    /// or waits for such an incident to open. One held already has its own hold
    /// (`escalation.inhibitedBy`).
    static func holdsSteps(of incident: Incident) -> Bool {
        (incident.escalation.hasPaged || incident.escalation.inhibitWaitFrom != nil) && incident.status.isOpen
    }

    /// For a new incident at the end of its inhibit wait (``EscalationState/inhibitWaitFrom``):
    /// the incidents among `sources` that inhibit every one of its firing alerts (`firing`;
    /// its own labels when none is given), open or resolved at or after `since`. None when
    /// one of its alerts is inhibited by nothing: an origin's incident that alerts from two
    /// PoPs share, one of them down, still pages for the other (black-box round 30).
    func awaitedInhibitors(of incident: Incident, firing: [Labels], since: Timestamp,
                           sources: (String) throws -> [Incident]) rethrows -> [Incident] {
        try inhibitingEvery(of: incident, firing: firing, sources: sources) {
            $0.status.isOpen || $0.resolvedAt.map { $0 >= since } == true
        }
    }

    /// Of `sources` (the incidents of the rules `incident`'s alerts are a target of), the
    /// open ones that inhibit every one of its firing alerts (`firing`; its own labels when
    /// none is given) now: none when one of them is inhibited by nothing. An origin's
    /// incident that paged holds its next tier while every PoP reporting it is down, not
    /// while the PoP of its first alert is (black-box round 37: tier 2 waited on FRA2's
    /// outage with 59 other PoPs still reporting the origin).
    func inhibiting(_ incident: Incident, firing: [Labels], sources: (String) throws -> [Incident]) rethrows -> [Incident] {
        try inhibitingEvery(of: incident, firing: firing, sources: sources) { $0.status.isOpen }
    }

    private func inhibitingEvery(of incident: Incident, firing: [Labels], sources: (String) throws -> [Incident],
                                 counts: (Incident) -> Bool) rethrows -> [Incident] {
        var found: [Incident] = []
        for labels in firing.isEmpty ? [incident.labels] : firing {
            let each = try rules.inhibitCandidates(of: labels, rule: incident.rule).inhibiting(labels, sources: sources, counts: counts)
            guard !each.isEmpty else { return [] }
            found += each.filter { source in !found.contains { $0.id == source.id } }
        }
        return found.sorted { $0.id < $1.id }
    }

    /// Since when an incident at the end of its inhibit wait looks at resolved inhibitors:
    /// ``EscalationPlanner/inhibitionRelease`` before the wait began.
    static func awaitedSince(_ incident: Incident) -> Timestamp? {
        incident.escalation.inhibitWaitFrom.map { $0 - EscalationPlanner.inhibitionRelease }
    }
}

/// Which incidents to list.
public struct IncidentQuery: Sendable, Equatable {
    public enum StatusFilter: String, Sendable, CaseIterable {
        case open, triggered, acknowledged, resolved, all

        var statuses: [IncidentStatus] {
            switch self {
            case .open: [.triggered, .acknowledged]
            case .triggered: [.triggered]
            case .acknowledged: [.acknowledged]
            case .resolved: [.resolved]
            case .all: IncidentStatus.allCases
            }
        }
    }

    public var status: StatusFilter
    public var limit: Int
    /// Only incidents created at or after this time (`alertbridge report --since`).
    public var createdSince: Timestamp?
    /// Only incidents created before this time (`alertbridge report --until`).
    public var createdBefore: Timestamp?
    /// Only incidents with a lower id: the cursor to page through a listing, newest
    /// first. `until` cannot be one: a storm's commit creates dozens of incidents in one
    /// millisecond, and paging by the last `created_at` skipped those that shared it.
    public var beforeID: Int64?
    /// Only incidents of these severities (`alertbridge incidents --severity`); any when empty.
    public var severities: [Severity] = []
    /// Only incidents whose labels have each of these values (`--label pop=TPE1`): a NOC
    /// in a regional event looks at one PoP among hundreds of incidents.
    public var labels: Labels = [:]

    public init(status: StatusFilter = .open, limit: Int = 100, createdSince: Timestamp? = nil, createdBefore: Timestamp? = nil) {
        self.status = status
        self.limit = limit
        self.createdSince = createdSince
        self.createdBefore = createdBefore
    }
}

/// Which silences to list.
public struct SilenceQuery: Sendable, Equatable {
    public enum StatusFilter: String, Sendable, CaseIterable {
        /// Active or pending: every silence that has not ended.
        case current, active, pending, expired, all

        /// The SQL condition on `starts_at` and `ends_at` (both stores use the same columns),
        /// with `t` the placeholder of the time it is judged at (`?1`, `$1`).
        func condition(_ t: String) -> String {
            switch self {
            case .current: "ends_at > \(t)"
            case .active: "starts_at <= \(t) AND ends_at > \(t)"
            case .pending: "starts_at > \(t)"
            case .expired: "ends_at <= \(t)"
            case .all: "TRUE"
            }
        }
    }

    public var status: StatusFilter
    public var limit: Int
    /// The time `status` is judged at.
    public var now: Timestamp

    public init(status: StatusFilter = .current, limit: Int = 100, now: Timestamp) {
        self.status = status
        self.limit = limit
        self.now = now
    }
}

/// An alert with the open incident that holds it.
public struct HeldAlert: Sendable, Equatable {
    public var incident: Incident
    public var alert: StoredAlert
}

/// An alert as stored inside its incident: the latest copy and how often it came.
public struct StoredAlert: Sendable, Equatable {
    public var fingerprint: String
    public var status: AlertStatus
    public var severity: Severity
    public var summary: String
    public var labels: Labels
    public var annotations: Labels
    public var source: String
    public var value: Double?
    public var threshold: Double?
    public var startsAt: Timestamp?
    public var endsAt: Timestamp?
    public var firstSeenAt: Timestamp
    public var lastSeenAt: Timestamp
    public var receivedCount: Int

    public init(fingerprint: String, status: AlertStatus, severity: Severity, summary: String, labels: Labels,
                annotations: Labels, source: String, value: Double? = nil, threshold: Double? = nil,
                startsAt: Timestamp? = nil, endsAt: Timestamp? = nil, firstSeenAt: Timestamp, lastSeenAt: Timestamp,
                receivedCount: Int) {
        self.fingerprint = fingerprint
        self.status = status
        self.severity = severity
        self.summary = summary
        self.labels = labels
        self.annotations = annotations
        self.source = source
        self.value = value
        self.threshold = threshold
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.receivedCount = receivedCount
    }
}

extension EscalationPlanner.PageReason {
    /// The notices' `event` values as an SQL list, `'acknowledged', 'resolved', …`, for
    /// queries about pages alone.
    static let noticesSQL = notices.map { "'\($0.rawValue)'" }.joined(separator: ", ")
}

extension Delivery {
    /// An outbox row that failed so far and waits for its next attempt, in SQL: pending
    /// with a failure recorded, other than a retry to recipients a mail server refused
    /// for now (the others have that page). See ``UndeliveredPages/retrying``.
    static let retryingSQL = "status = 'pending' AND last_error IS NOT NULL AND last_error NOT LIKE '\(refusedPrefix)%'"

    /// The status of a row given up on, in SQL, before its `last_error` is replaced: `sent`
    /// for one left for recipients refused for now (the others have the page, so the tier
    /// was paged: not a failed page), `failed` for the rest.
    static let failedStatusSQL = "CASE WHEN last_error LIKE '\(refusedPrefix)%' THEN 'sent' ELSE 'failed' END"
}

public struct IncidentDetail: Sendable, Equatable {
    public var incident: Incident
    public var alerts: [StoredAlert]
    public var timeline: [TimelineEntry]
    /// The policy its escalation runs by (the snapshot taken when it last started one), if
    /// it has one: what a page needs to say what happens next and when.
    public var policy: EscalationPolicy?

    public init(incident: Incident, alerts: [StoredAlert], timeline: [TimelineEntry], policy: EscalationPolicy? = nil) {
        self.incident = incident
        self.alerts = alerts
        self.timeline = timeline
        self.policy = policy
    }
}

/// What one batch of retention deleted.
public struct RetentionReport: Sendable, Equatable {
    public var incidents = 0
    public var silences = 0

    public init(incidents: Int = 0, silences: Int = 0) {
        self.incidents = incidents
        self.silences = silences
    }
}

/// What one pass of the escalation engine did.
public struct EscalationReport: Sendable, Equatable {
    public var advanced = 0
    /// Tier pages decided; notices (escalation ended) are not pages.
    public var pages = 0
    public var slaBreaches: [String] = []
    /// How the inhibit waits that ended went (``EscalationPlanner/Decision/inhibitWait``).
    public var inhibitWaits: [EscalationPlanner.WaitOutcome] = []

    public init() {}
}

public struct DeliveryRecord: Sendable, Equatable {
    public var id: Int64
    public var outcome: DeliveryOutcome
    /// A ``DeliveryOutcome/retry(at:reason:)`` whose time is the back-off after its
    /// connector failed: due at once when that connector delivers again, on any instance
    /// (black-box rounds 16 and 25: a page kept up to 5 minutes of back-off after the
    /// outage ended, and came after the notices decided while it waited). Not a
    /// receiver's `Retry-After`, nor a retry for recipients a mail server refused for now.
    public var waitsOutBackoff: Bool

    public init(id: Int64, outcome: DeliveryOutcome, waitsOutBackoff: Bool = false) {
        self.id = id
        self.outcome = outcome
        self.waitsOutBackoff = waitsOutBackoff
    }
}

extension Silence {
    /// The stored form of the matchers: a JSON array of their quoted texts.
    var matchersJSON: String { JSONWriter.text { $0.value(matchers.map(\.quoted)) } }

    /// Reads stored matchers back. `nil` if one no longer parses: such a silence must
    /// hold nothing, never everything (an empty list would match every alert).
    static func matchers(fromJSON text: String) -> [Matcher]? {
        guard let texts = try? JSONDecoder().decode([String].self, from: Data(text.utf8)), !texts.isEmpty else { return nil }
        var out: [Matcher] = []
        for text in texts {
            guard let matcher = try? Matcher(parsing: text) else { return nil }
            out.append(matcher)
        }
        return out
    }
}

extension TimelineEntry {
    /// The timeline line of an incident whose due escalation could not run because its
    /// policy snapshot does not decode: stopped, and said so, rather than silently.
    static func unreadableSnapshot(incidentID: Int64, at: Timestamp) -> TimelineEntry {
        TimelineEntry(incidentID: incidentID, at: at, kind: .escalated, by: "alertbridge",
                      detail: "escalation stopped: the policy snapshot of this incident could not be read; page its people by hand")
    }

    /// The timeline line of a failed delivery, worded alike by every store. A notice's
    /// failure (`event` of the outbox row) says so: a page and the notices after it fail
    /// alike in an outage, and their lines must not read the same.
    static func deliveryFailed(incidentID: Int64, tier: Int, connector: String, event: String = "", reason: String,
                               retrying: Bool, at: Timestamp) -> TimelineEntry {
        let what = noticeName(event).map { " (\($0))" } ?? ""
        return TimelineEntry(incidentID: incidentID, at: at, kind: .deliveryFailed, by: "alertbridge",
                             detail: "tier \(tier) via \(connector)\(what): \(reason)\(retrying ? "; retrying" : "")")
    }

    /// The timeline line of a page (or notice: `event` is the outbox row's) some of whose
    /// recipients were refused.
    static func recipientsRefused(incidentID: Int64, tier: Int, connector: String, event: String, refused: [String],
                                  retrying: [String], at: Timestamp) -> TimelineEntry {
        let again = retrying.isEmpty ? "" : "; retrying \(retrying.joined(separator: ", "))"
        return deliveryFailed(incidentID: incidentID, tier: tier, connector: connector,
                              reason: "refused \(refused.joined(separator: ", ")) the \(pageName(event)); the other recipients have it\(again)",
                              retrying: false, at: at)
    }

    /// The timeline line of a page (or notice) delivered after its failures or refusals
    /// were on the timeline: without it, "retrying" would be the last word an operator reads.
    static func deliveredAfterFailing(incidentID: Int64, tier: Int, connector: String, event: String,
                                      recipients: [String], attempts: Int, at: Timestamp) -> TimelineEntry {
        let to = recipients.isEmpty ? "" : " to \(recipients.joined(separator: ", "))"
        return TimelineEntry(incidentID: incidentID, at: at, kind: .paged, by: "alertbridge",
                             detail: "tier \(tier) via \(connector): delivered the \(pageName(event))\(to) on attempt \(attempts)")
    }

    /// The timeline line of a page not sent because an action overtook it. `lastError`
    /// is the row's: one that was partly delivered was only to be sent again to the
    /// recipients refused for now, and the others have it.
    static func pageCancelled(incidentID: Int64, tier: Int, connector: String, event: String, reason: String,
                              recipients: [String], lastError: String?, at: Timestamp) -> TimelineEntry {
        let what = lastError?.hasPrefix(Delivery.refusedPrefix) == true
            ? "not sent again to \(recipients.joined(separator: ", "))" : "\(pageName(event)) not sent"
        return TimelineEntry(incidentID: incidentID, at: at, kind: .paged, by: "alertbridge",
                             detail: "tier \(tier) via \(connector): \(what): \(reason)")
    }

    /// What an outbox row's `event` sends, as the timeline names it.
    static func pageName(_ event: String) -> String { noticeName(event) ?? "page" }

    private static func noticeName(_ event: String) -> String? {
        switch EscalationPlanner.PageReason(rawValue: event) {
        case .acknowledged: "acknowledge notice"
        case .resolved: "resolve notice"
        case .escalationEnded: "escalation-ended notice"
        default: nil
        }
    }
}

/// How many deliveries one connector may have in flight, and how many each has, so a
/// receiver that hangs cannot take every slot of the dispatcher.
///
/// A claim leaves full connectors out and takes no more rows than the connector with the
/// least room has left: whichever connector's rows it gets, none ends above
/// `perConnector`. The dispatcher caps only failing connectors (see its doc): with none,
/// a claim takes every free slot.
public struct ClaimQuota: Sendable, Equatable {
    public var perConnector: Int
    /// The capped connectors and their deliveries in flight (0 for one with none).
    public var inFlight: [String: Int]

    public init(perConnector: Int, inFlight: [String: Int] = [:]) {
        self.perConnector = perConnector
        self.inFlight = inFlight
    }

    /// No cap: a claim takes whatever is due, in order.
    public static let none = ClaimQuota(perConnector: Int(Int32.max))

    /// The connectors with no room left: their rows are not even looked at.
    public var full: [String] { inFlight.filter { $0.value >= perConnector }.map(\.key).sorted() }

    /// At most `limit` rows, and no more than the least room of a capped connector not full.
    public func limit(_ limit: Int) -> Int {
        let least = inFlight.values.filter { $0 < perConnector }.map { perConnector - $0 }.min()
        return max(1, min(limit, least ?? limit))
    }
}

/// An incident's pages that did not reach anyone (``IncidentStore/undeliveredPages(of:)``).
public struct UndeliveredPages: Sendable, Equatable {
    /// To the current tier, failed for good: every recipient refused, a webhook's 4xx,
    /// given up at `delivery.max_age`.
    public var failed: Int
    /// Of any tier in this episode, failed so far and waiting for their next attempt (an outage of the mail server or
    /// the chat receiver). A page partly delivered, retried to the recipients a mail server
    /// refused for now, reached the others and does not count.
    public var retrying: Int

    public init(failed: Int = 0, retrying: Int = 0) {
        self.failed = failed
        self.retrying = retrying
    }
}

/// A policy as open incidents run it (see ``IncidentStore/policiesInUse()``).
public struct PolicyInUse: Sendable, Equatable {
    public var policy: EscalationPolicy
    public var incidents: [Int64]

    public init(policy: EscalationPolicy, incidents: [Int64]) {
        self.policy = policy
        self.incidents = incidents
    }
}

/// The deliveries still to make.
public struct OutboxBacklog: Sendable, Equatable {
    public var pending: Int
    /// When the oldest pending one was decided; `nil` when none is pending.
    public var oldest: Timestamp?

    public init(pending: Int, oldest: Timestamp?) {
        self.pending = pending
        self.oldest = oldest
    }
}

/// The recipients of a page to send it to again, and when: those a mail server refused
/// for now while it took the page for the others.
public struct RecipientRetry: Sendable, Equatable {
    public var recipients: [String]
    public var at: Timestamp

    public init(recipients: [String], at: Timestamp) {
        self.recipients = recipients
        self.at = at
    }
}

/// One page to one connector, as the outbox holds it.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var incidentID: Int64
    public var step: Int
    public var event: EscalationPlanner.PageReason
    public var tier: Int
    public var tierName: String
    public var connector: String
    public var recipients: [String]
    /// Attempts so far, this one included.
    public var attempts: Int
    public var createdAt: Timestamp
    /// Why the last attempt did not reach everyone, if one did not.
    public var lastError: String?

    /// How `last_error` starts for a row that reached some of its recipients, as long as it
    /// is sent again to the others (``isForRefusedRecipients``).
    public static let refusedPrefix = "refused "

    /// Sent to some of its recipients already: this attempt is only for those a mail
    /// server refused for now (``DeliveryOutcome/partlyDelivered(refused:retry:)``).
    public var isForRefusedRecipients: Bool { lastError?.hasPrefix(Self.refusedPrefix) == true }

    /// What it sends, as the timeline names it: `page`, `acknowledge notice`, `resolve notice`.
    public var name: String { TimelineEntry.pageName(event.rawValue) }

    /// Why this page is not worth sending any more, or `nil`: the incident was acknowledged
    /// or resolved after the page was decided (a retry that outlived an outage, or a claim
    /// that lost the race with an operator). It would call people to something already
    /// handled; the notice of that action reaches them instead. A notice is sent unless the
    /// incident moved past it (``staleNotice(_:)``), and so is a page decided after the
    /// acknowledgement (`alertbridge escalate`). A page that a later one to the same tier
    /// number followed (an ack timeout, a repeat) is sent: after a severity switch that
    /// number is another policy's, other people.
    public func overtaken(by incident: Incident) -> String? {
        if event.isNotice { return staleNotice(incident) }
        // A reopened incident no longer has its resolve time, but its episode says it.
        if step <= incident.escalation.episodeStart {
            return "the incident was resolved before it could be delivered (it has opened again since)"
        }
        switch incident.status {
        case .resolved:
            guard let at = incident.resolvedAt, at >= createdAt else { return nil }
            return "the incident was resolved\(incident.resolvedBy.map { " by \($0)" } ?? "") first"
        case .acknowledged:
            guard let at = incident.acknowledgedAt, at >= createdAt else { return nil }
            return "the incident was acknowledged\(incident.acknowledgedBy.map { " by \($0)" } ?? "") first"
        case .triggered:
            // Acknowledged after it was decided, and triggered again since (the ack timed
            // out): the acknowledgement answered this page; the ack timeout's own follow it.
            guard let through = incident.escalation.acknowledgedThrough, step <= through else { return nil }
            return "the incident was acknowledged first (the acknowledgement has timed out since, and its escalation started again)"
        }
    }

    /// A notice is sent even when its page was not (it says what happened), unless the
    /// incident has moved past it: it opened again since (a resolve notice arriving after
    /// the new page would say the live incident is resolved), or an acknowledgement it
    /// announces has ended (ack timeout) or the incident resolved since (after an outage the
    /// resolve notice may have gone first). Notices are worded from the incident as it is
    /// when sent, so a stale one would contradict itself too.
    private func staleNotice(_ incident: Incident) -> String? {
        if step <= incident.escalation.episodeStart { return "the incident has opened again since" }
        if event == .acknowledged && incident.status == .triggered { return "the acknowledgement has ended since" }
        if event == .acknowledged && incident.status == .resolved { return "the incident is resolved since" }
        if event == .escalationEnded && incident.status != .triggered { return "the incident was \(incident.status.rawValue) since" }
        if event == .escalationEnded && !incident.escalation.ended { return "its escalation started again since" }
        return nil
    }

    /// An outbox row's `recipients` column, a JSON array of addresses.
    static func recipients(json: String?) -> [String] {
        json.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
    }

    public init(id: Int64, incidentID: Int64, step: Int, event: EscalationPlanner.PageReason, tier: Int, tierName: String,
                connector: String, recipients: [String], attempts: Int, createdAt: Timestamp, lastError: String? = nil) {
        self.id = id
        self.incidentID = incidentID
        self.step = step
        self.event = event
        self.tier = tier
        self.tierName = tierName
        self.connector = connector
        self.recipients = recipients
        self.attempts = attempts
        self.createdAt = createdAt
        self.lastError = lastError
    }
}

public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// Taken, but some of its recipients were refused (named, with the receiver's reply,
    /// on the timeline). Never sent to the others again (they would get copy after copy);
    /// sent again to `retry`'s recipients, those refused for now (greylisting, a full
    /// mailbox), at its time. Without `retry` the row is done.
    case partlyDelivered(refused: [String], retry: RecipientRetry? = nil)
    /// A transient failure: try again at the given time.
    case retry(at: Timestamp, reason: String)
    /// A permanent failure: recorded on the incident's timeline, not retried.
    case failed(reason: String)
    /// Not sent: an operator's action overtook it (``Delivery/overtaken(by:)``). On the
    /// timeline, not counted as a failure.
    case cancelled(reason: String)

    /// Delivered, wholly or in part: its connector works.
    public var reachedItsConnector: Bool {
        switch self {
        case .delivered, .partlyDelivered: true
        case .retry, .failed, .cancelled: false
        }
    }
}

public enum StoreError: Error, Equatable, CustomStringConvertible {
    case notFound(Int64)
    case silenceNotFound(Int64)
    case unavailable(String)
    /// The store was migrated by a newer build: this one would misread what it wrote.
    case newerSchema(found: Int, known: Int)

    public var description: String {
        switch self {
        case .notFound(let id): "incident \(id) not found"
        case .silenceNotFound(let id): "silence \(id) not found"
        case .unavailable(let why): "store unavailable: \(why)"
        case .newerSchema(let found, let known):
            "the store is at schema \(found), written by a newer alertbridge; this build knows schema \(known) at most. "
                + "Run the newer build (or restore a backup taken before it started)"
        }
    }

    /// Why the store could not do it, when `error` says it was unavailable (a database
    /// that is down, a full disk, a closed store): what a 503 adds for whoever retries.
    public static func unavailableReason(_ error: any Error) -> String? {
        if case StoreError.unavailable(let why) = error { return why }
        return nil
    }
}
