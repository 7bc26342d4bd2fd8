extension EscalationPlanner {
    /// What the policy does next to an incident if nobody acts, and when: what a page
    /// tells the person it reaches ("tier 2 is paged at 18:50 unless you acknowledge").
    public struct NextStep: Sendable, Equatable {
        public enum Action: Sendable, Equatable {
            /// The next tier is paged.
            case page(tier: Int, name: String)
            /// Every tier was paged: the policy starts again from tier 1 (`repeat`).
            case repeatPolicy(tier1: String, cycle: Int, of: Int)
            /// Every tier and repeat was paged: nobody is paged any more.
            case end
            /// An acknowledgement's `ack_timeout` runs out: tier 1 is paged again.
            case ackTimeout(tier1: String)
            /// It fell quiet (`auto_resolve_after`) while alertbridge was stopped: nobody is
            /// paged until its alert is sent again, and it resolves at ``NextStep/at`` if none is.
            case waitsForAlert
            /// An incident already paging whose next step waits while these open incidents,
            /// which inhibit it, are open; ``NextStep/at`` is when alertbridge looks again.
            case waitsForInhibitor([Int64])
            /// A new incident an inhibit rule targets waits before its first page for an
            /// incident that inhibits it to open (its `wait`): tier 1 is paged at
            /// ``NextStep/at`` unless one opens first.
            case awaitsInhibitor(tier1: String)
            /// An incident held since it opened by incidents that inhibited it, all resolved
            /// now: tier 1 is paged at ``NextStep/at``, ``inhibitionRelease`` after the last
            /// of them resolved, if it still fires (``releaseStep(_:policy:inhibitors:)``).
            case inhibitorsResolved(tier1: String, inhibitors: [Int64])
            /// Every alert recovered at `recoveredAt` and its rule keeps it open
            /// (`keep_open_for`): it resolves at ``NextStep/at`` unless one fires again, and
            /// nobody is paged before.
            case keptOpen(recoveredAt: Timestamp)
        }

        public var action: Action
        public var at: Timestamp
        /// The window whose timer sets ``at`` (`windows:` in the policy), if one does.
        public var window: EscalationPolicy.Window?
        /// The timer in force at ``at``: the tier's `escalate_after`, the window's, or the
        /// policy's `ack_timeout`.
        public var timer: Duration
        /// Open incidents that inhibit this one now: when the step falls due while one of
        /// them is open, it waits (``EscalationPlanner/holdStep(by:now:policy:into:waiting:)``).
        /// Set by the caller that looked them up (`show`); the planner's own answer leaves it empty.
        public var heldBy: [Int64] = []
        /// For a first page (``isFirstPage``): when the silences that hold every firing alert
        /// of it end, if that is after the step. Set by `show`,
        /// which looked them up: the step then pages nobody (black-box rounds 31 and 35).
        public var silencedUntil: Timestamp?
        /// Nobody was paged in this episode (acknowledged during its inhibit wait or a
        /// hold): its ack timeout pages tier 1 for the first time, not "again".
        public var firstPage = false

        /// Whether the step is the incident's first page of its episode, which a silence holds
        /// (one already paging escalates whatever silences say): an inhibit wait's end, or
        /// the ack timeout of an incident acknowledged before anyone was paged.
        public var isFirstPage: Bool {
            switch action {
            case .awaitsInhibitor: true
            case .ackTimeout: firstPage
            default: false
            }
        }

        /// Whether this is a step its timer takes (a tier, a repeat, the end, an ack timeout),
        /// which an open inhibitor holds when it falls due; not a wait already.
        public var takesTimer: Bool {
            switch action {
            case .page, .repeatPolicy, .end, .ackTimeout, .awaitsInhibitor: true
            case .waitsForAlert, .waitsForInhibitor, .inhibitorsResolved, .keptOpen: false
            }
        }
    }

    /// For an incident held since it opened whose inhibitors (`inhibitors`, those its
    /// ``EscalationState/inhibitedBy`` names) have all resolved: the page a minute after the
    /// last of them, if it still fires. `show` said nothing, and named a resolved incident as
    /// what held it (black-box round 31). `nil` otherwise.
    public static func releaseStep(_ incident: Incident, policy: EscalationPolicy, inhibitors: [Incident]) -> NextStep? {
        let e = incident.escalation
        guard incident.status == .triggered, !e.hasPaged, !e.inhibitedBy.isEmpty, let look = e.heldUntil,
              let tier1 = policy.tiers.first, !inhibitors.contains(where: \.status.isOpen),
              let last = inhibitors.compactMap(\.resolvedAt).max() else { return nil }
        // The engine's next look, or the minute after the last resolved if that is later.
        return NextStep(action: .inhibitorsResolved(tier1: tier1.name, inhibitors: e.inhibitedBy.sorted()),
                        at: max(look, last + inhibitionRelease), window: nil, timer: inhibitionRelease)
    }

    /// The step ``advance(_:policy:now:silences:firingLabels:inhibitors:startedAt:)``
    /// takes next for an incident as it stands, or `nil` when none is waiting on a timer
    /// (resolved, not paged yet, held by a silence or an inhibition, escalation ended); for
    /// one waiting for an inhibitor to open, its first page.
    /// An auto-resolve or an SLA check due sooner does not count: neither pages anyone.
    /// - Parameters:
    ///   - now, startedAt: given, an incident that fell quiet while alertbridge was stopped
    ///     and waits out the start's grace says so (``NextStep/Action/waitsForAlert``): its
    ///     next tier's time has passed and nobody is paged (black-box round 23: `show` said
    ///     "tier 2 is paged at" a time a minute gone). A step that fell due while it was
    ///     stopped is at the end of ``restartGrace``.
    public static func nextStep(_ incident: Incident, policy: EscalationPolicy, now: Timestamp? = nil,
                                startedAt: Timestamp? = nil) -> NextStep? {
        let e = incident.escalation
        if incident.status.isOpen, let recovery = e.recovery {
            return NextStep(action: .keptOpen(recoveredAt: recovery.at), at: keptOpenEnd(recovery, startedAt: startedAt), window: nil,
                            timer: .milliseconds(recovery.resolvesAt.milliseconds - recovery.at.milliseconds))
        }
        // Paging already, its next step held by an open inhibitor: said, where `show` said
        // nothing and TIER read as escalation going on (black-box round 23).
        if e.hasPaged, incident.status.isOpen, !e.inhibitedBy.isEmpty, let recheck = e.heldUntil {
            return NextStep(action: .waitsForInhibitor(e.inhibitedBy.sorted()), at: recheck, window: nil, timer: inhibitionRecheck)
        }
        if incident.status == .triggered, let from = e.inhibitWaitFrom, let due = e.heldUntil,
           let end = inhibitWaitEnd(e, startedAt: startedAt), let tier1 = policy.tiers.first {
            return NextStep(action: .awaitsInhibitor(tier1: tier1.name), at: end, window: nil,
                            timer: .milliseconds(due.milliseconds - from.milliseconds))
        }
        guard e.heldUntil == nil, policy.tiers.indices.contains(0) else { return nil }
        if let now, incident.status.isOpen, let after = policy.autoResolveAfter, now >= incident.lastAlertAt + after,
           let resolvesAt = autoResolveDue(incident, policy: policy, startedAt: startedAt), now < resolvesAt {
            return NextStep(action: .waitsForAlert, at: resolvesAt, window: nil, timer: after)
        }
        switch incident.status {
        case .acknowledged:
            guard let timeout = policy.ackTimeout, let at = incident.acknowledgedAt else { return nil }
            var step = NextStep(action: .ackTimeout(tier1: policy.tiers[0].name), at: stepDue(at + timeout, startedAt: startedAt),
                                window: nil, timer: timeout)
            step.firstPage = !e.hasPaged
            return step
        case .triggered:
            guard e.hasPaged, !e.ended, let due = tierDeadline(incident, policy: policy) else { return nil }
            let tier = incident.tier
            let action: NextStep.Action
            if tier < policy.tiers.count {
                action = .page(tier: tier + 1, name: policy.tiers[tier].name)
            } else if e.cycle < policy.repeat {
                action = .repeatPolicy(tier1: policy.tiers[0].name, cycle: e.cycle + 1, of: policy.repeat)
            } else {
                action = .end
            }
            // The deadline is the first moment the time since the page reaches the timer in
            // force then, so the window open at that moment is the one that set it.
            let window = policy.windows.first { EscalationWindows.contains($0, due) }
            return NextStep(action: action, at: stepDue(due, startedAt: startedAt), window: window,
                            timer: window?.escalateAfter ?? policy.tiers[tier - 1].escalateAfter)
        case .resolved:
            return nil
        }
    }
}
