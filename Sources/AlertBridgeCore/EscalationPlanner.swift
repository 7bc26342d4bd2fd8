/// What escalation does to one incident, as pure functions of (incident, policy, now).
///
/// The engine and the ingest path call these inside the transaction that writes
/// their result, so a decision, its pages (outbox rows) and the next due time commit
/// together or not at all. One call takes at most one escalation step: after downtime
/// an overdue step fires once, and the next one is timed from then.
public enum EscalationPlanner {
    public enum PageReason: String, Sendable, Codable {
        case triggered, reopened, escalated, repeated, manual
        case ackTimeout = "ack_timeout"
        /// A paging incident's severity rose into another policy (`severity_policies`),
        /// whose tier 1 is paged at once. An earlier build reads it as `triggered`.
        case severityRaised = "severity_raised"
        /// Notices to the tiers already paged.
        case acknowledged, resolved
        /// A notice to the tiers paged: the last tier and every repeat went unacknowledged,
        /// and nobody is paged for the incident any more. An earlier build reads it as
        /// `triggered`.
        case escalationEnded = "escalation_ended"

        /// A notice to whom was paged, not a page of a tier: it does not move the step.
        public var isNotice: Bool { Self.notices.contains(self) }
        public static let notices: [PageReason] = [.acknowledged, .resolved, .escalationEnded]
    }

    /// How an inhibit wait ended (``waits(_:for:silenced:now:policy:startedAt:into:)``).
    public enum WaitOutcome: String, Sendable, CaseIterable {
        /// Nothing inhibited it: tier 1 was paged.
        case paged
        /// An incident that inhibits it opened, or blinked, in the wait.
        case held
        /// A silence added meanwhile holds it.
        case silenced
    }

    /// Notify every target of one tier, decided at one step.
    public struct Page: Sendable, Equatable {
        public var incidentID: Int64
        public var step: Int
        public var tier: Int
        public var tierName: String
        public var targets: [EscalationPolicy.Target]
        public var reason: PageReason
        /// The outbox numbers a page's targets from here within its (step, event, tier):
        /// a notice to an earlier policy's tier follows the current policy's tier of the
        /// same number instead of colliding with it.
        public var firstTarget = 0
    }

    public struct Decision: Sendable, Equatable {
        public var incident: Incident
        public var pages: [Page] = []
        public var timeline: [TimelineEntry] = []
        /// `acknowledge` or `resolve`, for metrics.
        public var slaBreaches: [String] = []
        /// How an inhibit wait ended in this decision, for metrics; `nil` when none ended.
        public var inhibitWait: WaitOutcome?
        /// Tiers paged (`alertbridge_escalation_pages_total`): its notices are not pages.
        public var tierPages: Int { pages.filter { !$0.reason.isNotice }.count }

        init(_ incident: Incident) { self.incident = incident }
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case resolved
        case lastTier(String)

        public var description: String { text(about: "incident") }

        /// The refusal about `subject`, such as `incident 42`.
        public func text(about subject: String) -> String {
            switch self {
            case .resolved: "\(subject) is resolved; nothing to escalate"
            case .lastTier(let name): "\(subject) is already at its last tier (\(name)); there is no higher tier to page"
            }
        }
    }

    /// Who the timeline says acted when alertbridge's own timers did.
    public static let engine = "alertbridge"

    /// How often the engine looks whether the incident that inhibits a held one is still
    /// open. Inhibition is decided when an alert arrives; a minute later than its source
    /// resolved, a target still firing pages (by then most targets of a recovered PoP have
    /// sent their own recovery, so they page nobody).
    public static let inhibitionRecheck: Duration = .seconds(60)

    /// How long after the last incident that inhibited a held one resolved the held one
    /// pages, if it still fires. Its own recovery lags its source's (an Alertmanager group
    /// is sent at its next `group_interval`, a probe at its next run): a recovered PoP's
    /// edge incidents have recovered by then and page nobody. Released at the first look
    /// after the source resolved (anywhere up to a minute, and in step with Alertmanager's
    /// flushes), they paged with their recovery a millisecond behind (black-box round 29).
    public static let inhibitionRelease: Duration = .seconds(60)

    /// When a hold by inhibition ends once none of its inhibitors (``EscalationState/inhibitedBy``,
    /// among `inhibitors`) is open: ``inhibitionRelease`` after the last one resolved; `nil`
    /// when that has passed, when one is open, or when nothing held it.
    static func releaseAt(_ incident: Incident, inhibitors: [Incident], now: Timestamp) -> Timestamp? {
        let held = incident.escalation.inhibitedBy
        guard !held.isEmpty else { return nil }
        let named = inhibitors.filter { held.contains($0.id) }
        guard !named.contains(where: \.status.isOpen), let last = named.compactMap(\.resolvedAt).max() else { return nil }
        let end = last + inhibitionRelease
        return now < end ? end : nil
    }

    /// Pages tier 1 at once: a new or reopened incident, or an acknowledgement that timed out.
    public static func start(_ incident: Incident, policy: EscalationPolicy, now: Timestamp,
                             reason: PageReason = .triggered) -> Decision {
        var d = Decision(incident)
        d.incident.escalation.cycle = 0
        d.incident.escalation.ended = false
        page(tier: 1, reason: reason, policy: policy, now: now, into: &d)
        d.incident.nextEscalationAt = nextDue(d.incident, policy: policy)
        return d
    }

    /// An episode that paged, that nobody acknowledged, and whose alerts recovered before
    /// its escalation ended: an alert that flaps. When it fires again within `reopen_within`
    /// under the same policy, its escalation takes up where it was (``resume(_:after:policy:now:)``).
    public struct Flap: Sendable, Equatable {
        /// The escalation as the episode left it.
        public var escalation: EscalationState
        /// The tier it had paged last, and when: its `escalate_after` still runs from then.
        public var tier: Int
        public var pagedAt: Timestamp

        /// The resolved incident's episode, if it was such a flap. One an operator resolved,
        /// or `auto_resolve_after` closed, or someone had acknowledged (they were on it; also
        /// when their `ack_timeout` ran out before it resolved), or whose escalation had
        /// ended, starts again from tier 1 when it reopens.
        public init?(of incident: Incident) {
            let e = incident.escalation
            guard incident.status == .resolved, e.resolution == .alerts, e.hasPaged, !e.ended,
                  incident.acknowledgedBy == nil, e.acknowledgedThrough == nil, let pagedAt = e.tierPagedAt else { return nil }
            escalation = e
            tier = incident.tier
            self.pagedAt = pagedAt
        }
    }

    /// A flap fired again (``Flap``): the tier it had paged last hears the reopen, and the
    /// next tier is due when it was, counted from that tier's page, as after a rise in
    /// severity. Started again from tier 1, an alert that fired for less than
    /// `escalate_after` at a time never reached tier 2 (black-box round 29: ten pages to
    /// tier 1 in five minutes and none to R&D). The acknowledge SLA still counts from the
    /// reopen's page (nobody could acknowledge it while it was resolved).
    public static func resume(_ incident: Incident, after flap: Flap, policy: EscalationPolicy, now: Timestamp) -> Decision {
        var d = Decision(incident)
        let previous = flap.escalation
        let pagedAt = flap.pagedAt
        d.incident.escalation.cycle = previous.cycle
        d.incident.escalation.earlierTiers = previous.earlierTiers
        d.timeline.append(entry(d, now, .escalated, "nobody acknowledged it before it resolved: escalation goes on from tier \(flap.tier) "
                                    + "(\(tierName(flap.tier, policy))), paged at \(RFC3339.format(pagedAt)), rather than starting again"))
        page(tier: flap.tier, reason: .reopened, policy: policy, now: now, into: &d)
        d.incident.escalation.tierPagedAt = pagedAt
        d.incident.escalation.resumedAt = now
        d.incident.escalation.highestTier = max(previous.highestTier, flap.tier)
        d.incident.nextEscalationAt = nextDue(d.incident, policy: policy)
        return d
    }

    /// Where the acknowledge SLA counts from after a switch of policy (`severity_policies`):
    /// a stricter target is not applied to the time before the switch, so the deadline is
    /// the earlier of the old policy's and the switch plus the new target (a warning paged
    /// 20 s before it turned critical was breached the instant it did, under a 20 s target).
    static func ackClock(of incident: Incident, from old: EscalationPolicy?, to new: EscalationPolicy,
                         switchedAt now: Timestamp) -> Timestamp? {
        let e = incident.escalation
        guard let within = new.sla.acknowledgeWithin, !e.ackSLABreached, e.firstAcknowledgedAt == nil,
              let from = incident.acknowledgeSLAFrom else { return e.ackClockFrom }
        let oldDeadline = old?.sla.acknowledgeWithin.map { from + $0 }
        return min(oldDeadline ?? now + within, now + within) - within
    }

    /// A paging incident whose severity rose within its policy (no `severity_policies`
    /// switch): the tier it is at hears it (`RAISED`; the last page said warning), and its
    /// timers run on: the next tier is not put off. Acknowledged, the tier is told that
    /// someone has it, and the timeline says so.
    public static func raise(_ incident: Incident, policy: EscalationPolicy, now: Timestamp) -> Decision {
        var d = Decision(incident)
        let pagedAt = incident.escalation.tierPagedAt
        page(tier: incident.tier, reason: .severityRaised, policy: policy, now: now, into: &d)
        if incident.status == .acknowledged, let told = d.timeline.indices.last {
            // Not a call (black-box round 32: it read as one right after the acknowledgement).
            d.timeline[told].detail = (d.timeline[told].detail ?? "") + ", told that it rose to \(incident.severity.rawValue) "
                + "while \(incident.acknowledgedBy ?? "someone") has it (acknowledged)"
        }
        if incident.escalation.ended {
            // Nobody had answered any tier: the rise starts its escalation again from this
            // page (black-box round 35: it stayed ended, the RAISED page read "sent late"),
            // and the policy ends again if the tier it is at does not answer in time.
            d.incident.escalation.ended = false
        } else {
            d.incident.escalation.tierPagedAt = pagedAt
        }
        d.incident.nextEscalationAt = nextDue(d.incident, policy: policy)
        return d
    }

    /// Whatever is due at `now`: auto-resolve, SLA breaches, ack timeout, the next tier.
    /// - Parameters:
    ///   - silences: the silences active at `now`. While they hold every firing alert of an
    ///     incident nobody was paged for yet, it pages nobody; an incident that already
    ///     paged escalates whatever silences say.
    ///   - firingLabels: the labels of the incident's firing alerts (its own labels when empty).
    ///   - inhibitors: for an incident nobody was paged for yet, the incidents named by
    ///     `escalation.inhibitedBy`, as stored now: while one of them is open, it stays held.
    ///     For one already paging, the open incidents that inhibit it now: while there is one,
    ///     its next tier waits (the symptom paged before its PoP-down incident opened).
    ///   - startedAt: when this alertbridge started: no auto-resolve before ``autoResolveGrace``
    ///     after it, and a step that fell due while it was stopped waits ``restartGrace``
    ///     (``stepDue(_:startedAt:)``).
    public static func advance(_ incident: Incident, policy: EscalationPolicy, now: Timestamp,
                               silences: [Silence] = [], firingLabels: [Labels] = [],
                               inhibitors: [Incident] = [], startedAt: Timestamp? = nil) -> Decision {
        var d = Decision(incident)
        let heldUntil = heldUntil(incident, now: now, silences: silences, firingLabels: firingLabels, inhibitors: inhibitors)
        guard incident.status.isOpen else {
            d.incident.nextEscalationAt = nil
            return d
        }
        // Before an auto-resolve, as of when it was due: after a stop that outlasted both, the
        // breaches before it still count, and none after it does.
        let quietUntil = policy.autoResolveAfter.map { incident.lastAlertAt + $0 }
        // Nor does one after its alerts recovered, for an incident kept open since.
        let recovery = incident.escalation.recovery
        checkSLA(policy: policy, now: [now, quietUntil, recovery?.at].compactMap { $0 }.min() ?? now, into: &d)
        if let recovery {
            // Its alerts recovered, not fell quiet: before auto-resolve, which would call it
            // closed without a recovery. Nothing else is due before (no next tier, no ack
            // timeout for what is about to resolve); an alert that fires again makes an
            // overdue step due at once. Due while alertbridge was stopped, it waits out the
            // start's grace: an alert its sender re-sent meanwhile carries it on instead.
            let due = keptOpenEnd(recovery, startedAt: startedAt)
            if now >= due { resolve(after: recovery, now: now, startedAt: startedAt, into: &d) }
            else { d.incident.nextEscalationAt = due }
            return d
        }
        let resolvesAt = autoResolveDue(incident, policy: policy, startedAt: startedAt)
        if let quietUntil, let resolvesAt, now >= quietUntil, now < resolvesAt {
            // Fell quiet while alertbridge was stopped: it waits for its sender to send it
            // again, or for the grace to end, and nothing else is due meanwhile (no ack
            // timeout, no next tier for what is about to resolve). A merge does not move the
            // due time, so it looks again soon: a re-sent alert's overdue step then fires.
            d.incident.nextEscalationAt = min(resolvesAt, now + graceRecheck)
            return d
        }
        if let after = policy.autoResolveAfter, let resolvesAt, now >= resolvesAt {
            d.incident.resolve(at: now, by: engine, .autoResolve)
            d.timeline.append(entry(d, now, .resolved,
                                    autoResolved(after: after, quiet: .milliseconds(now.milliseconds - incident.lastAlertAt.milliseconds))))
            return d
        }
        if waits(incident, for: inhibitors, silenced: heldUntil != nil, now: now, policy: policy, startedAt: startedAt, into: &d) {
            return d
        }
        var e = d.incident.escalation
        // Acknowledged while a silence held it, and a silence holds it still (extended, or
        // another one since): it stays acknowledged until the later of its ack_timeout and
        // that silence's end (black-box round 35: at the old end it went back to triggered,
        // and at the new one tier 1 was paged as if nobody had had it).
        let ackHeld = d.incident.status == .acknowledged && incident.isHeldBySilence && heldUntil != nil
        if d.incident.status == .acknowledged, !ackHeld, let timeout = policy.ackTimeout,
           let ackAt = d.incident.acknowledgedAt, now >= stepDue(ackAt + timeout, startedAt: startedAt) {
            let who = d.incident.acknowledgedBy ?? "someone"
            // The PoP-down incident that inhibits this one is open: paging the symptom's tier 1
            // again is noise. It waits, acknowledged, until a minute after that one resolves.
            if stepWaits(incident, for: inhibitors, now: now, policy: policy, startedAt: startedAt, into: &d,
                         waiting: "acknowledged by \(who) but unresolved after \(DurationText.format(timeout)) (ack_timeout): "
                             + "tier 1 (\(tierName(1, policy))) is") {
                return d
            }
            release(from: inhibitors, now: now, into: &d, goingOn: "which is still unresolved")
            d.incident.status = .triggered
            d.incident.acknowledgedAt = nil
            d.incident.acknowledgedBy = nil
            let unresolved = if incident.isHeldBySilence, heldUntil == nil, let end = e.heldUntil, end > ackAt + timeout {
                "unresolved after \(DurationText.formatSeconds(.milliseconds(end.milliseconds - ackAt.milliseconds))), when the silence that held it ended "
                    + "(ack_timeout \(DurationText.format(timeout)))"
            } else {
                "unresolved after \(DurationText.format(timeout)) (ack_timeout)"
            }
            d.timeline.append(entry(d, now, .escalated, "acknowledged by \(who) but \(unresolved): back to triggered"
                                        + late(due: max(ackAt + timeout, e.heldUntil ?? ackAt, e.resumedAt ?? ackAt), now: now, startedAt: startedAt)))
            d.incident.escalation.cycle = 0
            d.incident.escalation.ended = false
            if let heldUntil {
                hold(until: heldUntil, now: now, into: &d)
            } else {
                page(tier: 1, reason: .ackTimeout, policy: policy, now: now, into: &d)
            }
        } else if d.incident.status == .acknowledged, incident.isHeldBySilence {
            // Acknowledged while a silence held it: its ack_timeout waits for the silence's
            // end as it is now (a later end is said once). Expired early, the timeout keeps
            // its own time.
            if let heldUntil { hold(until: heldUntil, now: now, into: &d) } else { d.incident.escalation.heldUntil = nil }
        } else if d.incident.status == .triggered && !e.ended {
            if let heldUntil {
                hold(until: heldUntil, now: now, into: &d)
            } else if !e.hasPaged {
                if !e.inhibitedBy.isEmpty {
                    let (which, are) = (named(e.inhibitedBy, in: inhibitors), e.inhibitedBy.count == 1 ? "is" : "are")
                    d.timeline.append(entry(d, now, .escalated, "\(which), which inhibited this one, \(are) resolved, and this one is still open: paging"))
                } else if let end = e.heldUntil {
                    // Its silence ended while alertbridge was stopped: said, as a late step is
                    // (black-box round 28: paged 37 s late, and the timeline read as on time).
                    d.timeline.append(entry(d, now, .escalated, "no silence holds this incident any more and it is still open: paging"
                                                + late(due: end, now: now)))
                }
                page(tier: 1, reason: e.episodeStart > 0 ? .reopened : .triggered, policy: policy, now: now, into: &d)
            } else if let due = tierDeadline(d.incident, policy: policy), now >= stepDue(due, startedAt: startedAt) {
                // A step an inhibitor held was due at the hold's last look, not at the deadline.
                let late = late(due: max(due, e.heldUntil ?? due), now: now, startedAt: startedAt)
                let current = d.incident.tier
                let waited = tierName(current, policy)
                if stepWaits(incident, for: inhibitors, now: now, policy: policy, startedAt: startedAt, into: &d) { return d }
                release(from: inhibitors, now: now, into: &d, goingOn: "which is still open: escalation goes on")
                if current < policy.tiers.count {
                    d.timeline.append(entry(d, now, .escalated,
                                            "tier \(current) (\(waited)) did not acknowledge in time: paging tier \(current + 1) (\(tierName(current + 1, policy)))"
                                                + late))
                    page(tier: current + 1, reason: .escalated, policy: policy, now: now, into: &d)
                } else if e.cycle < policy.repeat {
                    d.incident.escalation.cycle += 1
                    d.timeline.append(entry(d, now, .escalated,
                                            "no tier acknowledged: repeating the policy from tier 1 (repeat \(d.incident.escalation.cycle) of \(policy.repeat))"
                                                + late))
                    page(tier: 1, reason: .repeated, policy: policy, now: now, into: &d)
                } else {
                    e = d.incident.escalation
                    e.ended = true
                    d.incident.escalation = e
                    // Someone had acknowledged and the acknowledgement timed out: not "nobody".
                    let who = e.acknowledgedThrough == nil ? "nobody acknowledged" : "nobody acknowledged again after the acknowledgement timed out"
                    d.timeline.append(entry(d, now, .escalated,
                                            "escalation ended: \(policy.tiers.count == 1 ? "1 tier" : "\(policy.tiers.count) tiers") paged "
                                                + "\(policy.repeat == 0 ? "once" : "\(policy.repeat + 1) times") and \(who)" + late))
                    // Whom it paged hear that nobody will be paged any more: the incident is
                    // open, and silent from here on unless someone takes it.
                    d.pages += notices(for: d.incident, policy: policy, event: .escalationEnded)
                }
            }
        }
        d.incident.nextEscalationAt = nextDue(d.incident, policy: policy, startedAt: startedAt)
        return d
    }

    /// How long after a start nothing auto-resolves. Senders could not reach a stopped
    /// alertbridge: an incident whose quiet time ran out meanwhile may still be firing, and
    /// resolving it at once would send a RESOLVED notice and then page it again when its
    /// sender re-sends. Alertmanager sends a group it could not deliver again at its next
    /// `group_interval` (5m by default); a monitor that re-sends every minute, sooner.
    public static let autoResolveGrace: Duration = .seconds(600)
    /// How often an incident waiting out the grace is looked at again.
    static let graceRecheck: Duration = .seconds(30)

    /// When `auto_resolve_after` closes the incident: that long after its last alert, and,
    /// for one whose last alert came before this start, not before ``autoResolveGrace``
    /// after it. An alert that arrived after the start shows its sender reaches
    /// alertbridge: its quiet time is its own, and the incident resolves (and breaches, and
    /// ends its escalation) on time.
    static func autoResolveDue(_ incident: Incident, policy: EscalationPolicy, startedAt: Timestamp?) -> Timestamp? {
        guard let after = policy.autoResolveAfter else { return nil }
        let due = incident.lastAlertAt + after
        guard let startedAt, incident.lastAlertAt < startedAt, due < startedAt + autoResolveGrace else { return due }
        return startedAt + autoResolveGrace
    }

    /// How long after a start a step that fell due while alertbridge was stopped waits.
    /// Senders and operators could not reach a stopped alertbridge: Alertmanager retries
    /// the notifications it could not deliver after a back-off of seconds, an operator's
    /// `ack` comes a little later. Taken at once, the step paged R&D for an incident whose
    /// recovery arrived 0.7 s after the start (black-box round 27, B4).
    public static let restartGrace: Duration = .seconds(60)
    /// Steps overdue by less than this at a start are taken at once: a quick restart
    /// delayed them less than the grace would, and on a fleet the instances already
    /// running take steps on time.
    static let lateness: Duration = .seconds(30)
    /// Steps overdue by more than this at a start are taken at once: a start that crashes
    /// again within the grace, over and over, would otherwise hold them for good.
    static let restartGraceWindow: Duration = .seconds(600)

    /// When a step (the next tier, a repeat, an ack timeout) due at `due` is taken: then,
    /// or ``restartGrace`` after the start when it fell due while alertbridge was stopped.
    static func stepDue(_ due: Timestamp, startedAt: Timestamp?) -> Timestamp {
        guard let startedAt, due <= startedAt - lateness, due > startedAt - restartGraceWindow else { return due }
        return startedAt + restartGrace
    }

    /// Of an incident's inhibitors, those that hold its next step now: the open ones.
    static func holding(_ incident: Incident, among inhibitors: [Incident]) -> [Incident] {
        inhibitors.filter { $0.status.isOpen && $0.id != incident.id }
    }

    /// `incident 16 (PopDown/ICN1)`, `incident 16 (…) and incident 17 (…)`, by id.
    public static func named(_ ids: [Int64], in incidents: [Incident]) -> String {
        ids.sorted().map { id in
            incidents.first { $0.id == id }.map { "incident \(id) (\($0.dedupKey))" } ?? "incident \(id)"
        }.joined(separator: " and ")
    }

    /// An incident already paging whose next step (its next tier, its ack timeout) fell due
    /// while an incident that inhibits it is open (its latency alert paged, then its PoP
    /// went down): the step waits, as Alertmanager mutes a target that is already firing,
    /// and the engine looks again in a minute. Once nothing inhibits it and it is still
    /// open, the step is taken then (``release(from:now:into:goingOn:)``).
    ///   - waiting: what waits, as the timeline says it (`tier 2 (rnd) is`); the next tier's
    ///     step by default.
    static func holdStep(by holding: [Incident], now: Timestamp, policy: EscalationPolicy, into d: inout Decision,
                         waiting: String? = nil) {
        let ids = holding.map(\.id).sorted()
        if d.incident.escalation.inhibitedBy.sorted() != ids {
            let next = waiting ?? (d.incident.tier < policy.tiers.count
                ? "tier \(d.incident.tier + 1) (\(tierName(d.incident.tier + 1, policy))) is" : "the policy's next step is")
            let (which, inhibit, are) = (named(ids, in: holding), ids.count == 1 ? "inhibits" : "inhibit", ids.count == 1 ? "is" : "are")
            d.timeline.append(entry(d, now, .escalated, "\(next) not paged while \(which), which \(inhibit) this one, \(are) open"))
        }
        d.incident.escalation.inhibitedBy = ids
        d.incident.escalation.heldUntil = now + inhibitionRecheck
    }

    /// Whether a paging incident's step that fell due waits for its inhibitors: while one is
    /// open (``holdStep(by:now:policy:into:waiting:)``), and for ``inhibitionRelease`` after
    /// the last one resolved. `d` then says until when.
    static func stepWaits(_ incident: Incident, for inhibitors: [Incident], now: Timestamp, policy: EscalationPolicy,
                          startedAt: Timestamp?, into d: inout Decision, waiting: String? = nil) -> Bool {
        let holding = holding(incident, among: inhibitors)
        if !holding.isEmpty {
            holdStep(by: holding, now: now, policy: policy, into: &d, waiting: waiting)
        } else if let end = releaseAt(incident, inhibitors: inhibitors, now: now) {
            d.incident.escalation.heldUntil = end
        } else {
            return false
        }
        d.incident.nextEscalationAt = nextDue(d.incident, policy: policy, startedAt: startedAt)
        return true
    }

    /// When an inhibit wait ends (``EscalationState/inhibitWaitFrom``; `nil` when none runs):
    /// at ``EscalationState/heldUntil``, and not before the whole wait has passed since
    /// this alertbridge started (`startedAt`).
    static func inhibitWaitEnd(_ e: EscalationState, startedAt: Timestamp?) -> Timestamp? {
        guard let from = e.inhibitWaitFrom, let due = e.heldUntil else { return nil }
        return max(due, startedAt.map { $0 + .milliseconds(due.milliseconds - from.milliseconds) } ?? due)
    }

    /// How the timeline's entry at the end of an inhibit wait that found no inhibitor begins
    /// (a page decided then is a new incident's, not one a hold released). "Every alert of
    /// it", as an inhibitor must inhibit to hold it: an origin's incident that a down PoP and
    /// an up one report pages at its wait's end though the down PoP's incident opened in it
    /// (black-box round 38: "no incident that inhibits this one opened" read as false).
    public static let waitFoundNothing = "no incident that inhibits every alert of it opened"

    /// A new incident waiting for an incident that inhibits it to open (its inhibit rule's
    /// `wait`, ``EscalationState/inhibitWaitFrom``): nothing happens before the wait's end.
    /// Then one that opened meanwhile holds it, as if it had been open when the alert came;
    /// one that was open in the last ``inhibitionRelease`` holds it until that long after it
    /// resolved (the PoP blinked: this symptom's recovery lags its own); otherwise tier 1
    /// is paged (unless a silence holds it: `silenced`).
    /// - Parameters:
    ///   - inhibitors: the incidents that inhibit every firing alert of it, open or resolved
    ///     since ``inhibitionRelease`` before the wait began (the engine looks them up).
    ///   - startedAt: a wait is whole after a start: senders could not reach a stopped
    ///     alertbridge, and the PoP-down alert a probe retried landed 146 ms after its
    ///     symptom paged (black-box round 30).
    /// - Returns: whether it still waits, or is held by an inhibitor now; `d` says until when.
    static func waits(_ incident: Incident, for inhibitors: [Incident], silenced: Bool, now: Timestamp, policy: EscalationPolicy,
                      startedAt: Timestamp?, into d: inout Decision) -> Bool {
        let e = incident.escalation
        guard let from = e.inhibitWaitFrom, incident.status == .triggered, !e.hasPaged else { return false }
        let due = e.heldUntil ?? now
        let end = inhibitWaitEnd(e, startedAt: startedAt) ?? due
        if now < end {
            d.incident.nextEscalationAt = nextDue(d.incident, policy: policy, startedAt: startedAt)
            return true
        }
        let waited = "in the \(DurationText.formatSeconds(.milliseconds(now.milliseconds - from.milliseconds))) it waited (inhibit wait"
            + (end > due ? " \(DurationText.formatSeconds(.milliseconds(due.milliseconds - from.milliseconds))), counted again from alertbridge's start)" : ")")
        d.incident.escalation.inhibitWaitFrom = nil
        d.incident.escalation.heldUntil = nil
        let holding = holding(incident, among: inhibitors)
        let settled = inhibitors.filter { !$0.status.isOpen && $0.id != incident.id }
        if !holding.isEmpty {
            let ids = holding.map(\.id).sorted()
            let (which, inhibit, it) = (named(ids, in: holding), ids.count == 1 ? "inhibits" : "inhibit", ids.count == 1 ? "it is" : "they are")
            d.timeline.append(entry(d, now, .escalated, "\(which), which \(inhibit) this one, opened \(waited): nobody is paged while \(it) open"))
            d.incident.escalation.inhibitedBy = ids
            d.incident.escalation.heldUntil = now + inhibitionRecheck
            d.inhibitWait = .held
        } else if let last = settled.compactMap(\.resolvedAt).max(), now < last + inhibitionRelease {
            let ids = settled.map(\.id).sorted()
            let (which, inhibit, was) = (named(ids, in: settled), ids.count == 1 ? "inhibits" : "inhibit", ids.count == 1 ? "was" : "were")
            d.timeline.append(entry(d, now, .escalated, "\(which), which \(inhibit) this one, \(was) open \(waited) or the minute before, "
                                        + "and resolved at \(RFC3339.format(last)): nobody is paged before \(RFC3339.format(last + inhibitionRelease)), "
                                        + "in case this one recovers with it"))
            d.incident.escalation.inhibitedBy = ids
            d.incident.escalation.heldUntil = last + inhibitionRelease
            d.inhibitWait = .held
        } else {
            d.inhibitWait = silenced ? .silenced : .paged
            // A silence added meanwhile holds it from here, as a silence holds any incident.
            d.timeline.append(entry(d, now, .escalated, "\(waitFoundNothing) \(waited)"
                                        + (silenced ? ", but a silence holds it: nobody is paged while it does" : ": paging" + late(due: end, now: now))))
            return false
        }
        d.incident.nextEscalationAt = nextDue(d.incident, policy: policy, startedAt: startedAt)
        return true
    }

    /// When an incident kept open after its recovery (`keep_open_for`) resolves: at the end,
    /// or, when it was kept open across a start of alertbridge and the end is not a grace
    /// past it, ``restartGrace`` after the start. What it waits for is an alert that fired
    /// again, and one its sender could not deliver while alertbridge was down comes after
    /// the start (black-box round 32: resolved at the start, then RESOLVED and REOPENED for
    /// the sender's retry). Unlike a step, also when the end passed only moments before.
    static func keptOpenEnd(_ recovery: EscalationState.Recovery, startedAt: Timestamp?) -> Timestamp {
        guard let startedAt, recovery.at < startedAt, recovery.resolvesAt < startedAt + restartGrace,
              recovery.resolvesAt > startedAt - restartGraceWindow else { return recovery.resolvesAt }
        return startedAt + restartGrace
    }

    /// An incident kept open after its alerts recovered (`keep_open_for`) in which none
    /// fired again: resolved as of its recovery, by whoever sent it, and its notices go out.
    static func resolve(after recovery: EscalationState.Recovery, now: Timestamp, startedAt: Timestamp?, into d: inout Decision) {
        let kept = DurationText.formatSeconds(.milliseconds(recovery.resolvesAt.milliseconds - recovery.at.milliseconds))
        d.incident.resolve(at: recovery.at, by: recovery.by, .alerts)
        let end = keptOpenEnd(recovery, startedAt: startedAt)
        // Its end may have passed while alertbridge was stopped, or come just after its start.
        let restarted = if end > recovery.resolvesAt, let startedAt {
            "; alertbridge started at \(RFC3339.format(startedAt)), while it was kept open, and waited "
                + "\(DurationText.format(restartGrace)) after its start for alerts that could not reach it while it was stopped"
        } else {
            late(due: recovery.resolvesAt, now: now)
        }
        d.timeline.append(entry(d, now, .resolved, "all alerts resolved at \(RFC3339.format(recovery.at)), "
                                    + "and none fired again in the \(kept) it was kept open (keep_open_for)" + restarted))
    }

    /// The end of a ``holdStep(by:now:policy:into:waiting:)``: the incidents that held the
    /// step are resolved, the timeline says so (`… no longer inhibits this one, which is
    /// still open: escalation goes on`), and the step is taken.
    static func release(from inhibitors: [Incident], now: Timestamp, into d: inout Decision, goingOn: String) {
        let held = d.incident.escalation.inhibitedBy
        guard !held.isEmpty else { return }
        d.timeline.append(entry(d, now, .escalated, "\(named(held, in: inhibitors)) no longer \(held.count == 1 ? "inhibits" : "inhibit") this one, \(goingOn)"))
        d.incident.escalation.inhibitedBy = []
        d.incident.escalation.heldUntil = nil
    }

    /// While an incident nobody was paged for yet is held, when to look again: the next
    /// check of its open inhibitors, else the end of the silences that hold every one of
    /// its firing alerts. `nil` when nothing holds it.
    static func heldUntil(_ incident: Incident, now: Timestamp, silences: [Silence], firingLabels: [Labels],
                          inhibitors: [Incident]) -> Timestamp? {
        let e = incident.escalation
        guard !e.hasPaged else { return nil }
        if inhibitors.contains(where: { e.inhibitedBy.contains($0.id) && $0.status.isOpen }) {
            return now + inhibitionRecheck
        }
        if let end = releaseAt(incident, inhibitors: inhibitors, now: now) { return end }
        guard !silences.isEmpty else { return nil }
        return silences.holdEnd(of: firingLabels.isEmpty ? [incident.labels] : firingLabels, at: now)
    }

    /// Keeps a held incident waiting. A silence holding it past the end its timeline
    /// named (extended, or another silence) is said once, so the timeline does not keep
    /// naming an end that passed without a page; an inhibition's minute-by-minute check
    /// is not.
    static func hold(until end: Timestamp, now: Timestamp, into d: inout Decision) {
        let e = d.incident.escalation
        if e.inhibitedBy.isEmpty, let previous = e.heldUntil, end > previous {
            d.timeline.append(entry(d, now, .alert, "still silenced: nobody is paged before \(RFC3339.format(end))"))
        } else if e.inhibitedBy.isEmpty, e.heldUntil == nil {
            // Its silence expired early and another holds it (black-box round 35: an ack
            // timeout then paged nobody, and nothing said why).
            d.timeline.append(entry(d, now, .alert, "a silence holds it: nobody is paged before \(RFC3339.format(end))"))
        }
        d.incident.escalation.heldUntil = end
    }

    /// `; due at 2026-11-30T20:40:00Z, taken 50s late: alertbridge was stopped or behind`
    /// when a step ran 30 s or more after its time (after downtime, so its entry does not
    /// read as if taken on time), and why it waited after the start when it did, else "".
    static func late(due: Timestamp, now: Timestamp, startedAt: Timestamp? = nil) -> String {
        let late = Duration.milliseconds(now.milliseconds - due.milliseconds)
        guard late >= lateness else { return "" }
        let text = "; due at \(RFC3339.format(due)), taken \(DurationText.formatSeconds(late)) late: alertbridge was stopped or behind"
        guard stepDue(due, startedAt: startedAt) > due else { return text }
        return text + ", then waited \(DurationText.format(restartGrace)) after its start for the recoveries and acknowledgements "
            + "that could not reach it meanwhile"
    }

    /// How long no alert came, and, when the check ran well after the deadline (alertbridge
    /// was stopped), that the silence may be alertbridge's own: senders could not reach it.
    static func autoResolved(after: Duration, quiet: Duration) -> String {
        guard quiet - after >= .seconds(30) else { return "no new alert for \(DurationText.format(after)) (auto_resolve_after)" }
        return "no new alert for \(DurationText.formatSeconds(quiet)) (auto_resolve_after \(DurationText.format(after)); "
            + "checked late: alertbridge was stopped or behind, so senders may not have reached it)"
    }

    /// `alertbridge escalate ID`: page the next tier now.
    /// - Parameter note: why, from the operator (`need the DB on-call`): on the timeline entry
    ///   after the tier, and on the page (black-box round 29: the API took it and dropped it).
    public static func escalateNow(_ incident: Incident, policy: EscalationPolicy, now: Timestamp, by: String,
                                   note: String? = nil) throws(Refusal) -> Decision {
        guard incident.status.isOpen else { throw .resolved }
        let next = incident.escalation.hasPaged ? incident.tier + 1 : 1
        guard next <= policy.tiers.count else { throw .lastTier(tierName(incident.tier, policy)) }
        var d = Decision(incident)
        d.incident.escalation.ended = false
        d.timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: .escalated, by: by,
                                        detail: "escalated by hand to tier \(next) (\(tierName(next, policy)))" + (note.map { ": \($0)" } ?? "")))
        page(tier: next, reason: .manual, policy: policy, now: now, into: &d)
        d.incident.nextEscalationAt = nextDue(d.incident, policy: policy)
        return d
    }

    /// Notices (acknowledged, resolved, escalation ended): every tier paged in this episode
    /// hears them, also the higher ones a repeat or an ack timeout went back down from, and
    /// those of a policy the incident ran before its severity rose. Each audience hears a
    /// notice once, from the first tier that reaches it: a webhook or chat channel in two
    /// tiers got it twice (a ticketing receiver made two comments).
    /// - Parameter told: targets that hear it already (a reopen's own page): left out.
    public static func notices(for incident: Incident, policy: EscalationPolicy, event: PageReason,
                               told alreadyTold: [EscalationPolicy.Target] = []) -> [Page] {
        // An email target is one audience per address (any case: mail domains are not
        // case-sensitive, and nor are mailboxes in practice); a chat or webhook target is
        // one, whatever its `to:` says it is for (`check` makes every email `to:` an address).
        var told = Set<String>()
        func unheard(_ target: EscalationPolicy.Target) -> EscalationPolicy.Target? {
            guard !target.to.isEmpty, target.to.allSatisfy(EmailAddress.isValid) else {
                return told.insert(target.connector).inserted ? target : nil
            }
            var target = target
            target.to = target.to.filter { told.insert(target.connector + "\u{0}" + $0.lowercased()).inserted }
            return target.to.isEmpty ? nil : target
        }
        _ = alreadyTold.map(unheard)
        let tiers = (pagedTiers(of: incident, policy: policy) + incident.escalation.earlierTiers).compactMap { tier -> EscalationState.PagedTier? in
            var tier = tier
            tier.notify = tier.notify.compactMap(unheard)
            return tier.notify.isEmpty ? nil : tier
        }
        var used: [Int: Int] = [:]
        return tiers.map { tier in
            defer { used[tier.tier, default: 0] += tier.notify.count }
            return Page(incidentID: incident.id, step: incident.escalation.step, tier: tier.tier, tierName: tier.name,
                        targets: tier.notify, reason: event, firstTarget: used[tier.tier, default: 0])
        }
    }

    /// The tiers of `policy` paged in this episode: 1 through the highest one reached.
    public static func pagedTiers(of incident: Incident, policy: EscalationPolicy) -> [EscalationState.PagedTier] {
        let e = incident.escalation
        guard e.hasPaged else { return [] }
        let paged = max(e.highestTier, incident.tier)  // a row stored before highestTier existed has only `tier`
        return policy.tiers.prefix(max(0, min(paged, policy.tiers.count))).enumerated().map { index, tier in
            .init(tier: index + 1, name: tier.name, notify: tier.notify)
        }
    }

    /// The earliest time anything may be due for this incident.
    public static func nextDue(_ incident: Incident, policy: EscalationPolicy, startedAt: Timestamp? = nil) -> Timestamp? {
        guard incident.status.isOpen else { return nil }
        let e = incident.escalation
        // Kept open after its alerts recovered: nothing is due before it resolves.
        if let recovery = e.recovery { return keptOpenEnd(recovery, startedAt: startedAt) }
        var candidates: [Timestamp] = []
        if let resolves = autoResolveDue(incident, policy: policy, startedAt: startedAt) { candidates.append(resolves) }
        if let start = incident.firstPagedAt {
            // Also after an acknowledgement that came after the deadline, but before the engine
            // looked (it was behind): the next look records the breach.
            if let within = policy.sla.acknowledgeWithin, !e.ackSLABreached, let from = incident.acknowledgeSLAFrom,
               e.firstAcknowledgedAt.map({ $0 >= from + within }) ?? true {
                candidates.append(from + within)
            }
            if let within = policy.sla.resolveWithin, !e.resolveSLABreached {
                candidates.append(start + within)
            }
        }
        switch incident.status {
        case .acknowledged:
            // Held by an inhibiting incident: its next look.
            if let timeout = policy.ackTimeout, let at = incident.acknowledgedAt {
                candidates.append(max(stepDue(at + timeout, startedAt: startedAt), e.heldUntil ?? at))
            }
        case .triggered:
            if !e.hasPaged {
                candidates.append(inhibitWaitEnd(e, startedAt: startedAt) ?? e.heldUntil ?? incident.createdAt)
            } else if !e.ended, let due = tierDeadline(incident, policy: policy) {
                // Held by an inhibiting incident: its next look, not the step that waits.
                candidates.append(max(stepDue(due, startedAt: startedAt), e.heldUntil ?? due))
            }
        case .resolved:
            break
        }
        return candidates.min()
    }

    /// When the tier paged last escalates, windows applied; not before the reopen that took
    /// up a flap's escalation (``EscalationState/resumedAt``): a time that ran out while the
    /// incident was resolved is taken at the reopen, and is not late.
    static func tierDeadline(_ incident: Incident, policy: EscalationPolicy) -> Timestamp? {
        guard let pagedAt = incident.escalation.tierPagedAt, let tier = policy.tier(incident.tier) else { return nil }
        let deadline = EscalationWindows.deadline(from: pagedAt, tier: tier.escalateAfter, windows: policy.windows)
        return max(deadline, incident.escalation.resumedAt ?? deadline)
    }

    private static func checkSLA(policy: EscalationPolicy, now: Timestamp, into d: inout Decision) {
        let i = d.incident
        guard let start = i.firstPagedAt else { return }
        if let within = policy.sla.acknowledgeWithin, !i.escalation.ackSLABreached, let from = i.acknowledgeSLAFrom {
            let deadline = from + within
            if now >= deadline && (i.escalation.firstAcknowledgedAt ?? now) >= deadline {
                d.incident.escalation.ackSLABreached = true
                d.slaBreaches.append("acknowledge")
                // At the deadline, when it was missed, also if alertbridge looks later.
                d.timeline.append(entry(d, deadline, .slaBreached, "SLA: not acknowledged within \(DurationText.format(within))"))
            }
        }
        if let within = policy.sla.resolveWithin, !i.escalation.resolveSLABreached, now >= start + within {
            d.incident.escalation.resolveSLABreached = true
            d.slaBreaches.append("resolve")
            d.timeline.append(entry(d, start + within, .slaBreached, "SLA: not resolved within \(DurationText.format(within))"))
        }
    }

    private static func page(tier: Int, reason: PageReason, policy: EscalationPolicy, now: Timestamp, into d: inout Decision) {
        guard let t = policy.tier(tier) else { return }
        // Before the step counts: a row of an earlier build that paged has no firstPagedAt,
        // and its SLA clocks keep running from its creation.
        d.incident.escalation.firstPagedAt = d.incident.firstPagedAt ?? now
        let e = d.incident.escalation
        if e.episodeStart > 0, !e.hasPaged, e.firstAcknowledgedAt == nil, !e.ackSLABreached {
            // A reopen nobody had to acknowledge before (it resolved in time): its own page
            // starts the clock, not the first episode's, which would breach it at once.
            d.incident.escalation.ackClockFrom = now
        }
        d.incident.escalation.step += 1
        d.incident.escalation.heldUntil = nil
        d.incident.escalation.inhibitedBy = []
        d.incident.escalation.tierPagedAt = now
        d.incident.escalation.resumedAt = nil
        d.incident.escalation.inhibitWaitFrom = nil
        d.incident.escalation.highestTier = max(d.incident.escalation.highestTier, tier)
        d.incident.tier = tier
        d.pages.append(Page(incidentID: d.incident.id, step: d.incident.escalation.step, tier: tier,
                            tierName: t.name, targets: t.notify, reason: reason))
        let targets = t.notify.map { $0.to.isEmpty ? $0.connector : "\($0.connector) (\($0.to.joined(separator: ", ")))" }
        d.timeline.append(entry(d, now, .paged, "tier \(tier) (\(t.name)): \(targets.joined(separator: ", "))"))
    }

    private static func tierName(_ tier: Int, _ policy: EscalationPolicy) -> String {
        policy.tier(tier)?.name ?? "tier \(tier)"
    }

    private static func entry(_ d: Decision, _ at: Timestamp, _ kind: TimelineEntry.Kind, _ detail: String) -> TimelineEntry {
        TimelineEntry(incidentID: d.incident.id, at: at, kind: kind, by: engine, detail: detail)
    }
}
