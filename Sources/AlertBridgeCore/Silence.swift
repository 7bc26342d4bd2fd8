/// A maintenance window: between `startsAt` and `endsAt`, alerts its matchers hold for
/// are still recorded (incidents, counts, timeline) but page nobody.
///
/// An incident a silence held from its start is not forgotten when the silence ends: its
/// next escalation is due at the silence's end, and if it is still open and no other
/// silence holds it then, tier 1 is paged (see ``EscalationPlanner/advance(_:policy:now:silences:firingLabels:)``).
/// An incident that already paged before the silence began keeps escalating: acknowledge it.
public struct Silence: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case pending, active, expired
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case alreadyExpired(Int64, Timestamp)
        /// An extension that would not end later than the silence it extends.
        case notLater(Int64, Timestamp)
        /// An extension that would last over ``DurationText/longest`` from its start.
        case tooLong

        public var description: String {
            switch self {
            case .alreadyExpired(let id, let at): "silence \(id) already ended at \(RFC3339.format(at))"
            case .notLater(let id, let at):
                "must end after silence \(id) does (\(RFC3339.format(at))); to end it sooner, expire it"
            case .tooLong: "a silence lasts at most 365d"
            }
        }
    }

    /// Where an extension ends: at a time, or a duration after its start.
    public enum End: Sendable, Equatable {
        case at(Timestamp)
        case after(Duration)
    }

    public var id: Int64
    public var matchers: [Matcher]
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    public var createdBy: String
    public var comment: String
    public var createdAt: Timestamp
    /// Who ended it before its time, if anyone did.
    public var expiredBy: String?
    /// Who last moved its end later, if anyone did.
    public var extendedBy: String?

    public init(id: Int64 = 0, matchers: [Matcher], startsAt: Timestamp, endsAt: Timestamp, createdBy: String,
                comment: String, createdAt: Timestamp, expiredBy: String? = nil, extendedBy: String? = nil) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.createdAt = createdAt
        self.expiredBy = expiredBy
        self.extendedBy = extendedBy
    }

    public func status(at now: Timestamp) -> Status {
        now < startsAt ? .pending : now < endsAt ? .active : .expired
    }

    /// Active at `now`, and every matcher holds for these labels.
    public func holds(_ labels: Labels, at now: Timestamp) -> Bool {
        status(at: now) == .active && matchers.matchAll(labels)
    }

    /// Whether ending this silence at `now` must make `incident` due at once: a silence
    /// holds it, it waits for a later time, and this silence matches its labels or one of
    /// its firing alerts. The engine then decides whether another silence still holds it.
    /// Both stores' expire decide by this, so they cannot disagree.
    public func endingWakes(_ incident: Incident, firing: [Labels], now: Timestamp) -> Bool {
        incident.isHeld && (incident.nextEscalationAt.map { $0 > now } ?? false)
            && ([incident.labels] + firing).contains { matchers.matchAll($0) }
    }

    /// Why matchers that all hold for an alert without labels are refused, as Alertmanager
    /// refuses them: `pop != ICN1` alone would hold every alert not at ICN1, an outage
    /// alert that carries no `pop` label included.
    public static let holdsEveryAlert = "every matcher holds for an alert that has none of these labels, so the silence "
        + "would hold alerts you did not mean (pop != ICN1 holds every alert not at ICN1, a PoP-less outage too): "
        + "add one that needs a value, such as 'alertname = EdgeLatencyHigh'"

    /// Ends the silence now (`alertbridge silence expire`). A pending one never starts.
    public func expired(by: String, at now: Timestamp) throws(Refusal) -> Silence {
        guard status(at: now) != .expired else { throw .alreadyExpired(id, endsAt) }
        var next = self
        next.endsAt = now
        next.startsAt = min(startsAt, now)
        next.expiredBy = by
        return next
    }
}

extension Silence {
    /// A maintenance that runs over (`alertbridge silence extend`): the same silence, ending
    /// later. Changed in place, not replaced, so what it holds stays held throughout, also
    /// for an ingest that read it while the change committed. A `duration` counts from the
    /// later of its start and now, as when adding one; `comment` keeps the old one when `nil`.
    public func extended(to end: End, by: String, comment: String?, at now: Timestamp) throws(Refusal) -> Silence {
        guard status(at: now) != .expired else { throw .alreadyExpired(id, endsAt) }
        let newEnd = switch end {
        case .at(let at): at
        case .after(let length): max(startsAt, now) + length
        }
        guard newEnd > endsAt else { throw .notLater(id, endsAt) }
        guard newEnd.milliseconds - startsAt.milliseconds <= DurationText.longest.milliseconds else { throw .tooLong }
        var next = self
        next.endsAt = newEnd
        next.extendedBy = by
        if let comment { next.comment = comment }
        return next
    }
}

extension Incident {
    /// A silence holds it and nobody was paged for it yet (it opened silenced, or a
    /// silenced alert merged into it while it paged nobody). An acknowledgement taken
    /// meanwhile keeps it held: its `ack_timeout` waits for the silence's end.
    public var isHeld: Bool {
        status.isOpen && !escalation.hasPaged && escalation.heldUntil != nil
    }

    /// Held by a silence, not by an inhibiting incident (whose hold names it).
    var isHeldBySilence: Bool { isHeld && escalation.inhibitedBy.isEmpty }
}

extension Array where Element == Silence {
    /// Of the silences active at `now` that hold for these labels, the one that ends last.
    public func holding(_ labels: Labels, at now: Timestamp) -> Silence? {
        var found: Silence?
        for silence in self where silence.holds(labels, at: now) {
            if found.map({ silence.endsAt > $0.endsAt }) ?? true { found = silence }
        }
        return found
    }

    /// While every one of these alerts (their labels) is held, when the first of them is
    /// no longer: an incident pages as soon as one of its firing alerts is not silenced.
    /// `nil` when one of them is not held now (or there are none).
    public func holdEnd(of alerts: [Labels], at now: Timestamp) -> Timestamp? {
        var end: Timestamp?
        for labels in alerts {
            guard let silence = holding(labels, at: now) else { return nil }
            end = Swift.min(end ?? silence.endsAt, silence.endsAt)
        }
        return end
    }
}

extension Matcher {
    /// The matcher with its value quoted (`pop="ICN1"`, `alertname=~"Edge.*"`): the form
    /// silences are stored and shown in, which ``init(parsing:)`` reads back unchanged.
    public var quoted: String {
        var escaped = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(c)
            }
        }
        return "\(name)\(op.rawValue)\"\(escaped)\""
    }
}
