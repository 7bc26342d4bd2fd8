/// The dedup and lifecycle decisions for a batch of routed alerts, as a pure function.
///
/// The store loads the latest incident of every dedup key in the batch and the status
/// of every (incident, fingerprint) pair the batch names, calls ``plan(_:current:alertStatus:now:)``
/// and writes the plan in the same transaction. Because the planner only sees values,
/// every dedup, merge, reopen and resolve rule is tested with a manual clock, and the
/// SQLite and PostgreSQL stores cannot disagree on them.
public enum IngestPlanner {
    /// The key of an alert inside an incident.
    public struct AlertKey: Hashable, Sendable {
        public var incidentID: Int64
        public var fingerprint: String

        public init(incidentID: Int64, fingerprint: String) {
            self.incidentID = incidentID
            self.fingerprint = fingerprint
        }
    }

    /// An alert row to upsert: the latest copy of the alert and how many copies arrived.
    public struct AlertChange: Sendable, Equatable {
        public var incidentID: Int64
        public var alert: Alert
        public var received: Int
        public var firstSeenAt: Timestamp
        public var lastSeenAt: Timestamp

        public init(incidentID: Int64, alert: Alert, received: Int, firstSeenAt: Timestamp, lastSeenAt: Timestamp) {
            self.incidentID = incidentID
            self.alert = alert
            self.received = received
            self.firstSeenAt = firstSeenAt
            self.lastSeenAt = lastSeenAt
        }
    }

    public struct Plan: Sendable, Equatable {
        /// One per input alert, in input order.
        public var outcomes: [IngestOutcome] = []
        /// Every incident the batch touched, in its final state. New ones carry provisional
        /// negative ids until ``assigningIDs(_:)``.
        public var incidents: [Incident] = []
        public var alerts: [AlertChange] = []
        public var timeline: [TimelineEntry] = []
        /// Incidents that resolved in this batch: all their alerts count as resolved.
        public var resolvedIncidentIDs: [Int64] = []
        /// Tier-1 pages of incidents created or reopened by this batch.
        public var pages: [EscalationPlanner.Page] = []
        /// The policy each of those incidents now runs (its snapshot).
        public var policySnapshots: [Int64: EscalationPolicy] = [:]
        public var newIncidentCount = 0
        /// Timeline lines that name an inhibiting incident this batch opened: their text
        /// names its id, known only once the store allocated it.
        var inhibitionNotes: [InhibitionNote] = []

        struct InhibitionNote: Sendable, Equatable {
            var timelineIndex: Int
            var source: Int64
            var sourceKey: String
        }

        /// Replaces provisional ids (-1, -2, ...) with the ids the store allocated.
        public func assigningIDs(_ ids: [Int64]) -> Plan {
            precondition(ids.count == newIncidentCount)
            func map(_ id: Int64) -> Int64 { id < 0 ? ids[Int(-id) - 1] : id }
            var plan = self
            for i in plan.outcomes.indices { plan.outcomes[i].incidentID = plan.outcomes[i].incidentID.map(map) }
            for i in plan.incidents.indices {
                plan.incidents[i].id = map(plan.incidents[i].id)
                plan.incidents[i].escalation.inhibitedBy = plan.incidents[i].escalation.inhibitedBy.map(map)
            }
            for i in plan.alerts.indices { plan.alerts[i].incidentID = map(plan.alerts[i].incidentID) }
            for i in plan.timeline.indices { plan.timeline[i].incidentID = map(plan.timeline[i].incidentID) }
            for note in plan.inhibitionNotes {
                plan.timeline[note.timelineIndex].detail = State.Mute.inhibitedDetail(map(note.source), note.sourceKey)
            }
            plan.resolvedIncidentIDs = plan.resolvedIncidentIDs.map(map)
            for i in plan.pages.indices { plan.pages[i].incidentID = map(plan.pages[i].incidentID) }
            plan.policySnapshots = Dictionary(uniqueKeysWithValues: plan.policySnapshots.map { (map($0.key), $0.value) })
            return plan
        }
    }

    /// Plans a batch.
    /// - Parameters:
    ///   - batch: routed alerts in arrival order.
    ///   - current: the latest incident (open or resolved) of each dedup key in the batch.
    ///   - alertStatus: the stored status of alerts of those incidents, by fingerprint.
    ///   - inhibitSources: the open incidents of the rules named by the batch's ``InhibitCandidate``s.
    ///   - alertEnds: when those alerts that have resolved ended (their `endsAt`), to spot stale copies.
    ///   - alertStarts: when those alerts that fire started (their `startsAt`), to spot stale recoveries.
    ///   - silences: the silences of the batch's time; those active at `now` hold alerts.
    ///   - now: the time the batch is committed.
    public static func plan(
        _ batch: [RoutedAlert], current: [String: Incident],
        alertStatus: [AlertKey: AlertStatus], inhibitSources: [Incident] = [],
        alertEnds: [AlertKey: Timestamp] = [:], alertStarts: [AlertKey: Timestamp] = [:],
        silences: [Silence] = [], now: Timestamp
    ) -> Plan {
        var state = State(current: current, alertStatus: alertStatus, inhibitSources: inhibitSources)
        state.reserveCapacity(batch.count)
        state.alertEnds = alertEnds
        state.alertStarts = alertStarts
        state.silences = silences
        var plan = Plan()
        var outcomes = [IngestOutcome?](repeating: nil, count: batch.count)
        for index in applyingOrder(batch) { outcomes[index] = state.apply(batch[index], now: now) }
        plan.outcomes = outcomes.map { $0! }
        for (id, pages) in Dictionary(grouping: state.pages.filter { !$0.reason.isNotice }, by: \.incidentID) {
            if let last = plan.outcomes.lastIndex(where: { $0.incidentID == id }) ?? plan.outcomes.indices.last {
                plan.outcomes[last].tierPages += pages.count
            }
        }
        plan.inhibitionNotes = state.inhibitionNotes
        plan.incidents = state.touchedOrder.map { state.incidents[$0]! }
        plan.alerts = state.alertOrder.map { state.alerts[$0]! }
        plan.timeline = state.timeline
        plan.resolvedIncidentIDs = state.resolvedIDs
        plan.pages = state.pages
        plan.policySnapshots = state.snapshots
        plan.newIncidentCount = state.newCount
        return plan
    }

    /// Firing alerts of inhibiting rules first, the rest after, each in arrival order: an
    /// Alertmanager group of a PoP holds `PopDown` and its `Edge*` alerts in any order, and
    /// the source inhibits its targets wherever it stands. A recovery keeps its place (a
    /// target that fired before its source recovered was inhibited, and still firing a
    /// minute on, pages then), and so does every later copy of that alert: a source that
    /// recovers and fires again in one commit ends up firing. (Another alert of the same
    /// key, a second probe of the PoP, still moves ahead and keeps the source open.)
    static func applyingOrder(_ batch: [RoutedAlert]) -> [Int] {
        guard batch.contains(where: { $0.inhibitsOthers && $0.alert.status == .firing }) else { return Array(batch.indices) }
        var first: [Int] = []
        var rest: [Int] = []
        var kept: Set<AlertCopy> = []
        for i in batch.indices {
            let routed = batch[i]
            guard routed.inhibitsOthers else { rest.append(i); continue }
            let copy = AlertCopy(dedupKey: routed.dedupKey, fingerprint: routed.alert.fingerprint)
            if routed.alert.status == .firing && !kept.contains(copy) {
                first.append(i)
            } else {
                kept.insert(copy)
                rest.append(i)
            }
        }
        return first + rest
    }

    /// One alert of one incident key, as ``applyingOrder(_:)`` keeps copies in order.
    private struct AlertCopy: Hashable {
        var dedupKey: String
        var fingerprint: String
    }

    struct State {
        /// Latest incident per dedup key, updated as the batch is applied.
        var byKey: [String: Int64]
        var incidents: [Int64: Incident]
        var alertStatus: [AlertKey: AlertStatus]
        var touchedOrder: [Int64] = []
        var touched: Set<Int64> = []
        var alerts: [AlertKey: AlertChange] = [:]
        var alertOrder: [AlertKey] = []
        /// The keys of `alerts` by incident, so a resolution finds the batch's own changes.
        var alertKeysByIncident: [Int64: [AlertKey]] = [:]
        var timeline: [TimelineEntry] = []
        var resolvedIDs: [Int64] = []
        var pages: [EscalationPlanner.Page] = []
        var snapshots: [Int64: EscalationPolicy] = [:]
        var newCount = 0

        /// Runs `chosen` from now; says so when it replaces another policy (`severity_policies`
        /// picked it for the incident's severity, or the rule names another policy since).
        mutating func adopt(_ chosen: String, _ incident: inout Incident, _ routed: RoutedAlert, now: Timestamp) {
            guard chosen != incident.policy else { return }
            let why = routed.severityPolicies.isEmpty ? "rule \(routed.rule)" : "severity_policies"
            // An alert's doing, and not a page by itself (a held incident switches silently).
            timeline.append(TimelineEntry(
                incidentID: incident.id, at: now, kind: .alert, by: routed.alert.source,
                detail: "\(incident.severity.rawValue): escalating by policy \(chosen) instead of \(incident.policy) (\(why))"))
            incident.policy = chosen
        }

        /// Pages tier 1 of the policy of the incident's severity and keeps that policy as the snapshot.
        mutating func startEscalation(_ incident: inout Incident, _ routed: RoutedAlert, now: Timestamp,
                                      reason: EscalationPlanner.PageReason) {
            let chosen = routed.policy(at: incident.severity)
            guard let policy = chosen.policy else {
                timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: .alert, by: "alertbridge",
                                              detail: "not paged: no escalation policy named \"\(chosen.name)\" is loaded"))
                return
            }
            adopt(chosen.name, &incident, routed, now: now)
            take(EscalationPlanner.start(incident, policy: policy, now: now, reason: reason), into: &incident)
            snapshots[incident.id] = policy
            startedHere[incident.id] = StartedPage(step: incident.escalation.step, reason: reason)
        }

        /// Takes up the escalation of a flap (``EscalationPlanner/Flap``) where it was, when the
        /// reopen runs the policy the episode before ran; `false` when it does not (a rise in
        /// severity chose another), and the policy starts again from tier 1.
        mutating func resumeEscalation(_ incident: inout Incident, _ routed: RoutedAlert, after flap: EscalationPlanner.Flap,
                                       now: Timestamp) -> Bool {
            let chosen = routed.policy(at: incident.severity)
            guard chosen.name == incident.policy, let policy = chosen.policy else { return false }
            guard policy.tier(flap.tier) != nil else {
                // The policy lost that tier in an edit: said, where the reopen paged tier 1
                // as if someone had acknowledged it (black-box round 39).
                timeline.append(TimelineEntry(
                    incidentID: incident.id, at: now, kind: .escalated, by: EscalationPlanner.engine,
                    detail: "nobody acknowledged it before it resolved, but policy \(policy.name) has no tier \(flap.tier) now "
                        + "(it has \(policy.tiers.count)): escalation starts again from tier 1"))
                return false
            }
            take(EscalationPlanner.resume(incident, after: flap, policy: policy, now: now), into: &incident)
            snapshots[incident.id] = policy
            startedHere[incident.id] = StartedPage(step: incident.escalation.step, reason: .reopened)
            return true
        }

        /// The tiers the episode before paged that this reopen's page does not reach heard it
        /// resolve: they hear that it is back (`REOPENED`), each audience once, and its next
        /// notices. R&D, who had acknowledged it, heard `RESOLVED` and then nothing while
        /// tier 1 was paged again (black-box round 29). Under another policy (a rise in
        /// severity), whom the earlier one paged is left as the switch leaves it.
        mutating func announceReopen(_ incident: inout Incident, after resolved: Incident) {
            let step = incident.escalation.step
            guard incident.policy == resolved.policy, let policy = snapshots[incident.id],
                  let own = pages.last(where: { $0.incidentID == incident.id && $0.step == step && $0.reason == .reopened })
            else { return }
            incident.escalation.highestTier = max(incident.escalation.highestTier, resolved.escalation.highestTier, resolved.tier)
            pages += EscalationPlanner.notices(for: incident, policy: policy, event: .reopened, told: own.targets)
        }

        /// A tier-1 page decided in this commit, which a rise in severity later in the same
        /// commit replaces.
        struct StartedPage {
            var step: Int
            var reason: EscalationPlanner.PageReason
        }

        /// Incidents whose tier-1 page this commit decided.
        var startedHere: [Int64: StartedPage] = [:]

        /// Takes back a page decided in this commit, and the timeline line that named it.
        mutating func retract(_ started: StartedPage, of incidentID: Int64) {
            pages.removeAll { $0.incidentID == incidentID && $0.step == started.step }
            if let line = timeline.lastIndex(where: { $0.incidentID == incidentID && $0.kind == .paged }) {
                timeline.remove(at: line)
                for i in inhibitionNotes.indices where inhibitionNotes[i].timelineIndex > line { inhibitionNotes[i].timelineIndex -= 1 }
            }
        }

        /// Holds an incident a silence or an inhibition muted from its start: nobody is paged
        /// now, the policy is kept (its timers, `auto_resolve_after` too, run), and the engine
        /// looks again when the silence ends or to see whether the inhibitor resolved.
        mutating func holdEscalation(_ incident: inout Incident, _ routed: RoutedAlert, _ muted: Mute, now: Timestamp) {
            let chosen = routed.policy(at: incident.severity)
            guard let policy = chosen.policy else {
                // Nothing to hold: without a policy nobody is paged anyway (and the timeline says so).
                if case .silenced = muted { startEscalation(&incident, routed, now: now, reason: .triggered) }
                return
            }
            let end: Timestamp
            switch muted {
            case .silenced(let silence): end = silence.endsAt
            case .inhibited(let sources):
                end = now + EscalationPlanner.inhibitionRecheck
                // The wait for an inhibitor is over: this one is held by it now.
                if incident.escalation.inhibitWaitFrom != nil {
                    incident.escalation.inhibitWaitFrom = nil
                    incident.escalation.heldUntil = nil
                }
                // Every alert's inhibitors: held while any of them is open.
                for source in sources where !incident.escalation.inhibitedBy.contains(source.id) {
                    incident.escalation.inhibitedBy.append(source.id)
                }
            }
            adopt(chosen.name, &incident, routed, now: now)
            // Held by several silences (one alert each), it pages when the first one ends.
            incident.escalation.heldUntil = min(incident.escalation.heldUntil ?? end, end)
            incident.nextEscalationAt = EscalationPlanner.nextDue(incident, policy: policy)
            snapshots[incident.id] = policy
        }

        /// A new incident an inhibit rule targets (its `wait`): tier 1 is paged once the wait
        /// is over and no incident that inhibits it opened meanwhile (the engine looks,
        /// ``EscalationPlanner/advance(_:policy:now:silences:firingLabels:inhibitors:startedAt:)``).
        /// So does a reopen of one that paged nobody; one that paged pages at once: people
        /// were on it, and hear it is back.
        /// - Returns: whether it waits; `false` when no inhibit rule that targets it has a
        ///   `wait`, or it has no policy (nobody would be paged at the end), and the caller
        ///   escalates it as before.
        mutating func awaitInhibitors(_ incident: inout Incident, _ routed: RoutedAlert, now: Timestamp) -> Bool {
            let (wait, rules) = routed.inhibitWait
            let chosen = routed.policy(at: incident.severity)
            guard wait > .zero, let policy = chosen.policy else { return false }
            adopt(chosen.name, &incident, routed, now: now)
            // The wait is what holds it now, whatever held it before (a down PoP's alert).
            incident.escalation.inhibitedBy = []
            incident.escalation.inhibitWaitFrom = now
            incident.escalation.heldUntil = now + wait
            incident.nextEscalationAt = EscalationPlanner.nextDue(incident, policy: policy)
            snapshots[incident.id] = policy
            // A note, not `escalated`: nobody is paged yet (black-box round 30: read as a page).
            let which = rules.count == 1
                ? "rule \(rules[0]) waits \(DurationText.format(wait)) for one (inhibit wait)"
                : "rules \(rules.dropLast().joined(separator: ", ")) and \(rules.last!) wait up to \(DurationText.format(wait)) for one "
                    + "(the longest of their inhibit waits)"
            timeline.append(TimelineEntry(
                incidentID: incident.id, at: now, kind: .note, by: EscalationPlanner.engine,
                detail: "tier 1 (\(policy.tiers.first?.name ?? "tier 1")) is paged at \(RFC3339.format(now + wait)) unless an incident "
                    + "that inhibits this one opens first: \(which)"))
            return true
        }

        /// Incident ids per rule, so inhibition looks only at the source rule's incidents.
        var byRule: [String: [Int64]] = [:]
        var alertEnds: [AlertKey: Timestamp] = [:]
        var alertStarts: [AlertKey: Timestamp] = [:]
        /// The silences of the batch's time (``Array/holding(_:at:)`` looks only at active ones).
        var silences: [Silence] = []
        var inhibitionNotes: [Plan.InhibitionNote] = []

        /// A firing copy of an alert whose episode already ended: it started before the
        /// recorded end, and its sender never fires an alert again from its old start (see
        /// ``Alert/dropsLateCopies``). Such a copy must not re-fire, reopen or open anything.
        func isStale(_ alert: Alert, in incident: Incident?) -> Bool {
            guard alert.dropsLateCopies, let incident, let startsAt = alert.startsAt else { return false }
            let key = AlertKey(incidentID: incident.id, fingerprint: alert.fingerprint)
            guard alertStatus[key] == .resolved, let ended = alertEnds[key] else { return false }
            return startsAt < ended
        }

        /// A recovery of an episode that ended before the alert fired again: it ended before
        /// the firing copy's start (`endsAt` as the sender wrote it, before a future one is
        /// taken as now). Alertmanager delivers out of order; such a recovery must not resolve
        /// what fires now (black-box round 23).
        func isStale(recovery alert: Alert, in incident: Incident) -> Bool {
            guard alert.dropsLateRecoveries, let ended = alert.endsAt else { return false }
            let key = AlertKey(incidentID: incident.id, fingerprint: alert.fingerprint)
            guard alertStatus[key] == .firing, let started = alertStarts[key] else { return false }
            return ended < started
        }

        init(current: [String: Incident], alertStatus: [AlertKey: AlertStatus], inhibitSources: [Incident]) {
            byKey = current.mapValues(\.id)
            incidents = Dictionary(minimumCapacity: current.count + inhibitSources.count)
            for incident in inhibitSources where incidents[incident.id] == nil { incidents[incident.id] = incident }
            for incident in current.values { incidents[incident.id] = incident }
            for incident in incidents.values { byRule[incident.rule, default: []].append(incident.id) }
            self.alertStatus = alertStatus
        }

        /// Why an alert pages nobody: a silence holds it, or an incident inhibits it.
        enum Mute {
            case silenced(Silence)
            /// Every open incident that inhibits the alert; the first is named.
            case inhibited([Incident])

            var detail: String {
                switch self {
                case .silenced(let s):
                    "suppressed: silenced by silence \(s.id) until \(RFC3339.format(s.endsAt)) (\(s.createdBy): \(s.comment))"
                case .inhibited(let sources):
                    Self.inhibitedDetail(sources[0].id, sources[0].dedupKey)
                }
            }

            var isInhibition: Bool {
                if case .inhibited = self { true } else { false }
            }

            static func inhibitedDetail(_ source: Int64, _ key: String) -> String {
                "suppressed: inhibited by incident \(source) (\(key))"
            }
        }

        /// Inhibition first: an alert both inhibited and silenced must not page when the
        /// silence ends while its inhibiting incident is still open.
        func mute(of routed: RoutedAlert, now: Timestamp) -> Mute? {
            let sources = inhibitors(of: routed)
            if !sources.isEmpty { return .inhibited(sources) }
            return silences.holding(routed.alert.labels, at: now).map(Mute.silenced)
        }

        /// Says on a new or reopened incident's timeline why it pages nobody.
        mutating func note(_ muted: Mute?, on incidentID: Int64, by source: String, at now: Timestamp) {
            guard let muted else { return }
            if case .inhibited(let sources) = muted, sources[0].id < 0 {
                inhibitionNotes.append(.init(timelineIndex: timeline.count, source: sources[0].id, sourceKey: sources[0].dedupKey))
            }
            timeline.append(TimelineEntry(incidentID: incidentID, at: now, kind: .alert, by: source, detail: muted.detail))
        }

        /// The severity rose, and the rule picks another policy for the new severity than the
        /// incident runs (its `severity_policies`, or the incident's own rule edited or its
        /// policy renamed since it started): a triggered incident runs that one from now.
        /// (Without the switch an edited rule's incident was paged by nobody on a rise: a rise
        /// pages within the incident's own policy, which the rule no longer names; black-box
        /// round 23.) One already paging pages the new policy's tier 1 at once (a PoP gone
        /// from warning to critical gets the critical response, not the rest of the warning
        /// timers); a held one stays held under it. An acknowledged incident has someone on it
        /// and keeps its policy (and its notices go to the tiers that were paged).
        /// - Returns: whether it paged.
        mutating func switchPolicy(_ incident: inout Incident, to routed: RoutedAlert, now: Timestamp) -> Bool {
            // Another rule's alert rendering the same key (a PagerDuty dedup_key two
            // integrations share) does not bring its own rule's policy.
            guard incident.status == .triggered, !routed.severityPolicies.isEmpty || routed.rule == incident.rule else { return false }
            let chosen = routed.policy(at: incident.severity)
            guard let policy = chosen.policy, chosen.name != incident.policy else { return false }
            let before = routed.severityPolicies.values.first { $0.name == incident.policy }
            adopt(chosen.name, &incident, routed, now: now)
            snapshots[incident.id] = policy
            // Paging already (also for a muted alert: a running escalation goes on): the new
            // policy from its tier 1, so no tier number of the old policy is left behind.
            // Notices go to the new policy's tiers paged from now and to those the old one
            // paged (as loaded now: a policy renamed since is not found, and its tiers hear nothing).
            if let started = startedHere.removeValue(forKey: incident.id) {
                // Its page was decided in this commit (one webhook holding a warning and then
                // a critical alert of one key): nobody has it yet, so the new policy's replaces
                // it, for the same reason, instead of following it as a second page at once.
                retract(started, of: incident.id)
                incident.escalation.highestTier = 0
                startEscalation(&incident, routed, now: now, reason: started.reason)
                return true
            }
            if incident.escalation.hasPaged {
                if let before {
                    incident.escalation.earlierTiers += EscalationPlanner.pagedTiers(of: incident, policy: before)
                }
                incident.escalation.ackClockFrom = EscalationPlanner.ackClock(of: incident, from: before, to: policy, switchedAt: now)
                incident.escalation.highestTier = 0
                startEscalation(&incident, routed, now: now, reason: .severityRaised)
                return true
            }
            incident.nextEscalationAt = EscalationPlanner.nextDue(incident, policy: policy)
            return false
        }

        /// A rise in severity within the incident's policy: the tier it is at is paged again
        /// (``EscalationPlanner/raise(_:policy:now:)``), unless its page was decided in this
        /// commit (it is worded at sending, so it says the new severity already).
        ///
        /// An acknowledged incident's tier hears it too, under the policy it runs (it keeps it
        /// through a rise): whoever took a warning must learn that it went critical, and the
        /// tier that someone has it (black-box round 29: nobody heard). The acknowledgement
        /// and its timeout stand.
        /// - Returns: whether it paged.
        mutating func raise(_ incident: inout Incident, _ routed: RoutedAlert, now: Timestamp) -> Bool {
            guard incident.status.isOpen, incident.escalation.hasPaged, startedHere[incident.id] == nil else { return false }
            let policy = incident.status == .acknowledged
                ? routed.policy(named: incident.policy)
                : routed.policy(at: incident.severity).policy.flatMap { $0.name == incident.policy ? $0 : nil }
            guard let policy else { return false }
            take(EscalationPlanner.raise(incident, policy: policy, now: now), into: &incident)
            return true
        }

        /// An escalation decision made in this commit: its incident, pages and timeline.
        mutating func take(_ decision: EscalationPlanner.Decision, into incident: inout Incident) {
            incident = decision.incident
            pages += decision.pages
            timeline += decision.timeline
        }

        /// Starts paging a new or reopened incident, or holds it while a silence lasts or
        /// its inhibitor is open.
        mutating func escalate(_ incident: inout Incident, _ routed: RoutedAlert, muted: Mute?, now: Timestamp,
                               reason: EscalationPlanner.PageReason) {
            if let muted {
                holdEscalation(&incident, routed, muted, now: now)
            } else {
                startEscalation(&incident, routed, now: now, reason: reason)
            }
        }

        /// The open incidents of inhibiting rules with equal labels, as of this point in the
        /// batch: the alert pages once none of them is open.
        func inhibitors(of routed: RoutedAlert) -> [Incident] {
            routed.inhibitors.inhibiting(routed.alert.labels) { rule in (byRule[rule] ?? []).compactMap { incidents[$0] } }
        }

        /// Room for a batch of `count` alerts, so applying it does not grow the tables as it goes.
        mutating func reserveCapacity(_ count: Int) {
            alerts.reserveCapacity(count)
            alertOrder.reserveCapacity(count)
            touched.reserveCapacity(count)
            touchedOrder.reserveCapacity(count)
        }

        mutating func touch(_ incident: Incident) {
            incidents[incident.id] = incident
            if touched.insert(incident.id).inserted { touchedOrder.append(incident.id) }
        }

        mutating func record(_ alert: Alert, in incidentID: Int64, now: Timestamp) {
            let key = AlertKey(incidentID: incidentID, fingerprint: alert.fingerprint)
            if var change = alerts[key] {
                change.alert = alert.status == .resolved ? change.alert.recovered(by: alert) : alert
                change.received += 1
                change.lastSeenAt = now
                alerts[key] = change
            } else {
                alerts[key] = AlertChange(incidentID: incidentID, alert: alert, received: 1,
                                          firstSeenAt: now, lastSeenAt: now)
                alertOrder.append(key)
                alertKeysByIncident[incidentID, default: []].append(key)
            }
        }

        mutating func apply(_ routed: RoutedAlert, now: Timestamp) -> IngestOutcome {
            var alert = routed.alert
            let existing = byKey[routed.dedupKey].flatMap { incidents[$0] }
            if alert.status == .resolved, let incident = existing, incident.status.isOpen, isStale(recovery: alert, in: incident) {
                return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey, kind: .merged)
            }
            // A recovery that ended in the future (a sender's clock ahead) ended now: else
            // every later copy of the alert would start before its end and be dropped as late.
            if alert.status == .resolved, let end = alert.endsAt, end > now { alert.endsAt = now }
            switch alert.status {
            case .firing:
                if isStale(alert, in: existing), let incident = existing {
                    return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey,
                                         kind: incident.status.isOpen ? .merged : .resolved)
                }
                let muted = mute(of: routed, now: now)
                if var incident = existing, incident.status.isOpen {
                    let severityBefore = incident.severity
                    // Quiet past its auto_resolve_after: after a start it waits for its alert
                    // (``EscalationPlanner/advance``), and this is it; its overdue step is
                    // taken now, not at the engine's next look (black-box round 23: 18 s on).
                    let quiet = routed.policy(at: incident.severity).policy?.autoResolveAfter
                        .map { incident.lastAlertAt + $0 <= now } ?? false
                    // Fired again while kept open after a recovery (`keep_open_for`): the episode
                    // goes on, unannounced; a step that fell due meanwhile is taken now.
                    let carriedOn = incident.escalation.recovery
                    let stepDueNow = (quiet || carriedOn != nil) && incident.nextEscalationAt.map { $0 > now } == true
                    if stepDueNow { incident.nextEscalationAt = now }
                    merge(alert, into: &incident, now: now)
                    if let carriedOn {
                        incident.escalation.recovery = nil
                        // A tier's time that ran out meanwhile is taken now, and is not late.
                        incident.escalation.resumedAt = now
                        let after = DurationText.formatSeconds(.milliseconds(now.milliseconds - carriedOn.at.milliseconds))
                        timeline.append(TimelineEntry(
                            incidentID: incident.id, at: now, kind: .note, by: EscalationPlanner.engine,
                            detail: "fired again \(after) after all its alerts recovered, before it resolved (keep_open_for): it stays open, "
                                + "and nobody is told it resolved or reopened"))
                    }
                    // Created muted (or without a policy): page once an alert arrives that is not.
                    // Cheap tests first: a storm merges into incidents that already paged.
                    let canStart = incident.status == .triggered && !incident.escalation.hasPaged
                        && routed.policy(at: incident.severity).policy != nil
                    // Held by an inhibition whose sources have all resolved: the engine pages it
                    // a minute after the last one did (``EscalationPlanner/inhibitionRelease``), if
                    // it still fires; a copy sent meanwhile may be its sender lagging the recovery.
                    let settling = !incident.escalation.inhibitedBy.isEmpty
                        && !incident.escalation.inhibitedBy.contains { incidents[$0]?.status.isOpen == true }
                    // Waiting for an incident that would inhibit it (``awaitInhibitors``): a copy
                    // does not cut the wait short.
                    let waiting = incident.escalation.inhibitWaitFrom != nil
                    var startsPaging = canStart && muted == nil && !settling && !waiting
                    // The first page, started by an alert nothing holds: one an inhibit rule with
                    // a `wait` targets waits as a new incident's does, however the incident was
                    // held, since the alert's own PoP-down may be seconds behind it (black-box
                    // round 38: an origin's incident a down PoP opened paged at once when an up
                    // PoP's alert came, where the other order waited 10 s).
                    if startsPaging, awaitInhibitors(&incident, routed, now: now) { startsPaging = false }
                    if startsPaging {
                        startEscalation(&incident, routed, now: now,
                                        reason: incident.escalation.episodeStart > 0 ? .reopened : .triggered)
                    }
                    // A muted alert of an incident nobody was paged for (created muted): it is
                    // held by this silence or inhibitor too, and pages once nothing holds it.
                    // One that waits for an inhibitor (its inhibit `wait`) goes on waiting, and
                    // the engine holds it at the wait's end only if every firing alert of it is
                    // inhibited (black-box round 37: a down PoP's alert that merged into an
                    // origin's incident during its wait held it for as long as that PoP was
                    // down, though another PoP's alert of it fired).
                    if canStart, let muted, !(waiting && muted.isInhibition) {
                        holdEscalation(&incident, routed, muted, now: now)
                    }
                    if !startsPaging, incident.severity > severityBefore,
                       switchPolicy(&incident, to: routed, now: now) || muted == nil && raise(&incident, routed, now: now) {
                        startsPaging = true
                    }
                    touch(incident)
                    // Held only where nobody is paged: an incident already paging goes on
                    // escalating, and `suppressed` told the sender otherwise (black-box round 21).
                    let held = muted != nil && !incident.escalation.hasPaged
                    return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey,
                                         kind: held ? .suppressed : .merged, startedPaging: startsPaging, stepDueNow: stepDueNow)
                }
                if var incident = existing, let resolvedAt = incident.resolvedAt,
                   now < resolvedAt + routed.reopenWithin {
                    // The episode that resolved, as it ended: whom it paged, and whether it flapped.
                    let resolved = incident
                    incident.status = .triggered
                    incident.tier = 1
                    // A new episode is as severe as what fires now, runs that severity's policy
                    // and is titled by it: its page says what fired again, not what fired first.
                    incident.severity = alert.severity
                    incident.title = alert.summary
                    incident.acknowledgedAt = nil
                    incident.acknowledgedBy = nil
                    incident.resolvedAt = nil
                    incident.resolvedBy = nil
                    incident.firingCount = 0
                    incident.escalation = incident.escalation.reopened()
                    timeline.append(TimelineEntry(
                        incidentID: incident.id, at: now, kind: .reopened, by: alert.source,
                        detail: "fired again \(DurationText.formatSeconds(.milliseconds(now.milliseconds - resolvedAt.milliseconds))) after it resolved"
                            + (alert.severity == resolved.severity ? "" : ", now \(alert.severity.rawValue) (was \(resolved.severity.rawValue))")))
                    note(muted, on: incident.id, by: alert.source, at: now)
                    merge(alert, into: &incident, now: now)
                    if muted == nil, let flap = EscalationPlanner.Flap(of: resolved), resumeEscalation(&incident, routed, after: flap, now: now) {
                        // Taken up where the episode before left it.
                    } else if muted == nil, !resolved.escalation.hasPaged, awaitInhibitors(&incident, routed, now: now) {
                        // Nobody was paged for the episode before (its PoP was down, or it
                        // blinked within its wait): a flapping PoP's symptom that fires again a
                        // moment before its PoP-down waits as a new one does (black-box round 30).
                    } else {
                        escalate(&incident, routed, muted: muted, now: now, reason: .reopened)
                    }
                    announceReopen(&incident, after: resolved)
                    touch(incident)
                    return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey,
                                         kind: muted == nil ? .reopened : .suppressed)
                }
                newCount += 1
                var incident = Incident(
                    id: Int64(-newCount), dedupKey: routed.dedupKey, status: .triggered,
                    title: alert.summary, severity: alert.severity, labels: alert.labels,
                    annotations: alert.annotations, rule: routed.rule, policy: routed.policy,
                    alertCount: 0, firingCount: 0, createdAt: now, lastAlertAt: now)
                timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: .created, by: alert.source,
                                              detail: "\(alert.severity.rawValue): \(alert.summary)"))
                if let label = alert.labels["severity"], Severity(label: label) == nil {
                    // Said where the operator looks: otherwise a `severity: page` alert runs
                    // the warning policy and nothing shows why (black-box round 23).
                    timeline.append(TimelineEntry(
                        incidentID: incident.id, at: now, kind: .note, by: EscalationPlanner.engine,
                        detail: "its severity label \"\(label)\" is not critical, error, warning or info: "
                            + "the incident is \(alert.severity.rawValue)"))
                }
                if !routed.missingKeyLabels.isEmpty {
                    // A label typo in a rule or a sender that does not set it: said where the
                    // operator looks, since every such alert will merge here.
                    let missing = routed.missingKeyLabels
                    let (names, it) = (missing.joined(separator: " or "), missing.count == 1 ? "it renders" : "they render")
                    timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: .note, by: EscalationPlanner.engine,
                                                  detail: "the alert has no \(names), which rule \(routed.rule)'s dedup_key uses: "
                                                      + "\(it) empty in key \"\(routed.dedupKey)\", so alerts that differ only there share this incident"))
                }
                note(muted, on: incident.id, by: alert.source, at: now)
                merge(alert, into: &incident, now: now, announce: false)
                if muted != nil || !awaitInhibitors(&incident, routed, now: now) {
                    escalate(&incident, routed, muted: muted, now: now, reason: .triggered)
                }
                byKey[routed.dedupKey] = incident.id
                byRule[incident.rule, default: []].append(incident.id)
                touch(incident)
                return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey,
                                     kind: muted == nil ? .created : .suppressed)

            case .resolved:
                guard var incident = existing else {
                    return IngestOutcome(incidentID: nil, dedupKey: routed.dedupKey, kind: .resolved)
                }
                guard incident.status.isOpen else {
                    return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey, kind: .resolved)
                }
                let key = AlertKey(incidentID: incident.id, fingerprint: alert.fingerprint)
                // A recovery of an alert the incident never held resolves nothing (under
                // `resolve: any` it resolves the incident all the same): written as a row of
                // its own, it showed a second alert that never fired beside "1 alert
                // received" (black-box round 20).
                guard alertStatus[key] != nil || routed.resolve == .any else {
                    return IngestOutcome(incidentID: nil, dedupKey: routed.dedupKey, kind: .resolved)
                }
                if alertStatus[key] == .firing {
                    incident.firingCount -= 1
                    timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: .alert, by: alert.source,
                                                  detail: "\(alert.displayName) recovered" + alert.recoveryGloss))
                }
                alertStatus[key] = .resolved
                alertEnds[key] = alert.endsAt ?? now
                record(alert, in: incident.id, now: now)
                var resolves = routed.resolve == .any || incident.firingCount <= 0
                if resolves, routed.resolve != .any, alert.groupLeftOut > 0 {
                    resolves = false
                    let n = alert.groupLeftOut
                    timeline.append(TimelineEntry(
                        incidentID: incident.id, at: now, kind: .note, by: EscalationPlanner.engine,
                        detail: "not resolved: every alert it holds has recovered, but Alertmanager left out \(n) "
                            + "alert\(n == 1 ? "" : "s") of the notification (the receiver's max_alerts), which may still fire; "
                            + "resolve it by hand once they have"))
                }
                if resolves, routed.keepOpenFor > .zero, routed.resolve == .all {
                    // Kept open a while: a flapping alert's re-fire carries the episode on,
                    // and nobody hears RESOLVED and REOPENED at every flap. The engine
                    // resolves it at the end (``EscalationPlanner/advance``), as of now.
                    // A copy of the recovery (a probe that reports its state every minute) does not
                    // move it: the incident would never resolve.
                    guard incident.escalation.recovery == nil else {
                        touch(incident)
                        return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey, kind: .merged)
                    }
                    let recovery = EscalationState.Recovery(at: now, by: alert.source, resolvesAt: now + routed.keepOpenFor)
                    incident.escalation.recovery = recovery
                    incident.nextEscalationAt = recovery.resolvesAt
                    timeline.append(TimelineEntry(
                        incidentID: incident.id, at: now, kind: .note, by: EscalationPlanner.engine,
                        detail: "all its alerts have recovered: it resolves at \(RFC3339.format(recovery.resolvesAt)) unless one fires "
                            + "again first (keep_open_for \(DurationText.format(routed.keepOpenFor)))"))
                    touch(incident)
                    // The engine must learn the new due time (a merge does not wake it).
                    return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey, kind: .merged, stepDueNow: true)
                }
                if resolves {
                    // Under `resolve: any` others may still fire: "all alerts resolved" was
                    // untrue of them (black-box round 23).
                    let detail = incident.firingCount > 0
                        ? "\(alert.displayName) recovered, and rule \(routed.rule) resolves on any recovery (resolve: any)"
                        : "all alerts resolved"
                    incident.resolve(at: now, by: alert.source, .alerts)
                    for k in alertStatus.keys where k.incidentID == incident.id { alertStatus[k] = .resolved }
                    // This batch's own changes too (`resolve: any` leaves others firing): the
                    // store marks the stored alerts resolved, then writes these as they end up.
                    for k in alertKeysByIncident[incident.id] ?? [] { alerts[k]?.alert.status = .resolved }
                    resolvedIDs.append(incident.id)
                    timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: .resolved, by: alert.source,
                                                  detail: detail))
                }
                touch(incident)
                return IngestOutcome(incidentID: incident.id, dedupKey: routed.dedupKey,
                                     kind: resolves ? .resolved : .merged)
            }
        }

        /// Adds a firing alert to an open incident: counts, last seen, severity only upward. The
        /// title is the summary of the alert that set the severity: a page for a PoP gone
        /// critical says what is critical, not the warning it started as.
        mutating func merge(_ alert: Alert, into incident: inout Incident, now: Timestamp, announce: Bool = true) {
            incident.alertCount += 1
            incident.lastAlertAt = now
            if alert.severity > incident.severity {
                timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: .alert, by: alert.source,
                                              detail: "severity raised from \(incident.severity.rawValue) to \(alert.severity.rawValue)"))
                incident.severity = alert.severity
                incident.title = alert.summary
            }
            let key = AlertKey(incidentID: incident.id, fingerprint: alert.fingerprint)
            // Only where a late recovery is looked for (``isStale(recovery:in:)``).
            if alert.dropsLateRecoveries, let startsAt = alert.startsAt { alertStarts[key] = startsAt }
            if alertStatus[key] != .firing {
                incident.firingCount += 1
                alertStatus[key] = .firing
                if announce {
                    timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: .alert, by: alert.source,
                                                  detail: "\(alert.displayName) firing: \(alert.summary)"))
                }
            }
            record(alert, in: incident.id, now: now)
        }
    }
}
