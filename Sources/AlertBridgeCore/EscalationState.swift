/// The escalation bookkeeping of one incident, stored with it and advanced only by
/// ``EscalationPlanner``.
///
/// An incident can live through several episodes: it resolves, fires again within its
/// rule's `reopen_within` and runs the policy again. ``step`` counts over the incident's
/// whole life; everything else describes the current episode.
public struct EscalationState: Sendable, Equatable, Codable {
    /// Escalation steps taken so far, over every episode. Every page carries the step that
    /// decided it, and the outbox keeps one row per (incident, step, event, tier, target):
    /// the guard that keeps a tier from being paged twice for one decision. A reopened
    /// episode goes on counting, so its pages never collide with an earlier episode's.
    public var step: Int = 0
    /// ``step`` when the current episode began: 0 for the first.
    public var episodeStart: Int = 0
    /// Pass through the tiers, from 0; the policy's `repeat` allows that many more.
    public var cycle: Int = 0
    /// When the current tier was paged: its `escalate_after` runs from here.
    public var tierPagedAt: Timestamp?
    /// The highest tier paged in this episode: acknowledge and resolve notices go to
    /// tiers 1 through this one, also after a repeat or an ack timeout went back to tier 1.
    public var highestTier: Int = 0
    /// All tiers and repeats were paged and nobody acknowledged.
    public var ended = false
    /// The first page of the incident's life: its SLA clocks run from here. For most
    /// incidents that is their creation; one a silence or an inhibition held starts later.
    public var firstPagedAt: Timestamp?
    /// The first acknowledgement, which the acknowledge SLA measures.
    public var firstAcknowledgedAt: Timestamp?
    /// When the acknowledge SLA counts from, if not from the first page: the first page of
    /// a reopened episode when nobody had acknowledged and no deadline had passed before
    /// (it resolved on its own in time, so nobody could acknowledge it while resolved).
    public var ackClockFrom: Timestamp?
    public var ackSLABreached = false
    public var resolveSLABreached = false
    /// An incident held from its start, not paged yet: when to look again. For a silence,
    /// when it ends; for an inhibition, the next check of the inhibiting incident
    /// (``EscalationPlanner/inhibitionRecheck``). The engine then pages tier 1 unless
    /// something still holds it.
    public var heldUntil: Timestamp?
    /// The open incidents that inhibited this one, not paged yet: once none of them is
    /// open and this one still is, tier 1 is paged (as Alertmanager notifies a target
    /// alert that outlives its sources).
    public var inhibitedBy: [Int64] = []
    /// The tiers an earlier policy of this episode paged before a rise in severity moved
    /// the incident to another (`severity_policies`): the people they called hear the
    /// acknowledge and resolve notices too, not only the new policy's tiers.
    public var earlierTiers: [PagedTier] = []
    /// What closed the current episode; `nil` while it is open, and for an incident
    /// resolved before alertbridge recorded it.
    public var resolution: Resolution?
    /// ``step`` when the incident was last acknowledged: every page decided up to it was
    /// answered by that acknowledgement, also once its `ack_timeout` made the incident
    /// triggered again (a page held up by an outage must not reach its tier after that).
    public var acknowledgedThrough: Int?
    /// When a flap's reopen took up the escalation of the episode before
    /// (``EscalationPlanner/resume(_:after:policy:now:)``): a tier's time that ran out
    /// while it was resolved is due at the reopen, not late. Cleared by the next page.
    public var resumedAt: Timestamp?
    /// When a new or reopened incident began waiting, before its first page, for an
    /// incident that inhibits it to open (its inhibit rule's `wait`); ``heldUntil`` is the
    /// wait's end. A probe that sends a PoP's edge alerts a moment before its PoP-down
    /// would otherwise page tier 1 for every symptom (black-box round 29). `nil` when not
    /// waiting.
    public var inhibitWaitFrom: Timestamp?
    /// Every alert of the open incident has recovered, and its rule keeps it open a while
    /// (`keep_open_for`) before it resolves: an alert that fires again meanwhile carries the
    /// episode on, unannounced. `nil` while an alert fires, and once it resolved.
    public var recovery: Recovery?

    /// The last recovery of an incident kept open (``recovery``).
    public struct Recovery: Sendable, Equatable, Codable {
        /// When its last firing alert recovered: its resolve time, if none fires again.
        public var at: Timestamp
        /// Who sent that recovery: who resolved it.
        public var by: String
        /// When it resolves: `at` plus the rule's `keep_open_for`.
        public var resolvesAt: Timestamp

        public init(at: Timestamp, by: String, resolvesAt: Timestamp) {
            self.at = at
            self.by = by
            self.resolvesAt = resolvesAt
        }
    }

    /// A tier paged in this episode, with whom it paged.
    public struct PagedTier: Sendable, Equatable, Codable {
        public var tier: Int
        public var name: String
        public var notify: [EscalationPolicy.Target]

        public init(tier: Int, name: String, notify: [EscalationPolicy.Target]) {
            self.tier = tier
            self.name = name
            self.notify = notify
        }
    }

    public init() {}

    /// Whether anyone was paged in the current episode: an incident created or reopened
    /// while inhibited (or without a policy) has not been.
    public var hasPaged: Bool { step > episodeStart }

    /// The state a reopened incident starts its new episode with: the step count and the
    /// SLA record (measured from the incident's first page) carry over, the rest starts again.
    public func reopened() -> EscalationState {
        var next = EscalationState()
        next.step = step
        next.episodeStart = step
        next.firstPagedAt = firstPagedAt
        next.firstAcknowledgedAt = firstAcknowledgedAt
        next.ackClockFrom = ackClockFrom
        next.ackSLABreached = ackSLABreached
        next.resolveSLABreached = resolveSLABreached
        return next
    }

    // Every field is optional in the stored form: a row written by an earlier version
    // (without the fields added since) must decode to its state, not to a fresh one,
    // or its incident would silently start escalating again from tier 1.
    private enum CodingKeys: String, CodingKey {
        case step, episodeStart, cycle, tierPagedAt, highestTier, ended
        case firstPagedAt, firstAcknowledgedAt, ackClockFrom, ackSLABreached, resolveSLABreached, inhibitedBy, earlierTiers, resolution
        case acknowledgedThrough
        case resumedAt, inhibitWaitFrom, recovery
        case heldUntil = "silencedUntil"  // its name before inhibition held incidents too
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decodeIfPresent(Int.self, forKey: .step) ?? 0
        episodeStart = try c.decodeIfPresent(Int.self, forKey: .episodeStart) ?? 0
        cycle = try c.decodeIfPresent(Int.self, forKey: .cycle) ?? 0
        tierPagedAt = try c.decodeIfPresent(Timestamp.self, forKey: .tierPagedAt)
        highestTier = try c.decodeIfPresent(Int.self, forKey: .highestTier) ?? 0
        ended = try c.decodeIfPresent(Bool.self, forKey: .ended) ?? false
        firstPagedAt = try c.decodeIfPresent(Timestamp.self, forKey: .firstPagedAt)
        firstAcknowledgedAt = try c.decodeIfPresent(Timestamp.self, forKey: .firstAcknowledgedAt)
        ackClockFrom = try c.decodeIfPresent(Timestamp.self, forKey: .ackClockFrom)
        ackSLABreached = try c.decodeIfPresent(Bool.self, forKey: .ackSLABreached) ?? false
        resolveSLABreached = try c.decodeIfPresent(Bool.self, forKey: .resolveSLABreached) ?? false
        heldUntil = try c.decodeIfPresent(Timestamp.self, forKey: .heldUntil)
        // One id, as the first builds that held inhibited incidents wrote it, or a list.
        if let one = try? c.decodeIfPresent(Int64.self, forKey: .inhibitedBy) {
            inhibitedBy = [one]
        } else {
            inhibitedBy = try c.decodeIfPresent([Int64].self, forKey: .inhibitedBy) ?? []
        }
        earlierTiers = try c.decodeIfPresent([PagedTier].self, forKey: .earlierTiers) ?? []
        resolution = try? c.decodeIfPresent(Resolution.self, forKey: .resolution)
        acknowledgedThrough = try c.decodeIfPresent(Int.self, forKey: .acknowledgedThrough)
        resumedAt = try c.decodeIfPresent(Timestamp.self, forKey: .resumedAt)
        inhibitWaitFrom = try c.decodeIfPresent(Timestamp.self, forKey: .inhibitWaitFrom)
        recovery = try c.decodeIfPresent(Recovery.self, forKey: .recovery)
    }
}
