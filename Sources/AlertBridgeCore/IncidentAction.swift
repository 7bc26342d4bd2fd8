/// What an operator can do to an incident, and the pure rules for whether they may.
public enum IncidentAction: Sendable, Equatable {
    case acknowledge(by: String, note: String?)
    case resolve(by: String, note: String?)
    case note(by: String, text: String)

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case alreadyAcknowledged(by: String?, at: Timestamp?)
        case alreadyResolved(by: String?, at: Timestamp?)
        case emptyNote

        public var description: String { text(about: "incident") }

        /// The refusal about `subject`: `incident 42 is already acknowledged by alice at …`,
        /// so an operator working several incidents at 3 a.m. sees which one.
        public func text(about subject: String) -> String {
            switch self {
            case .alreadyAcknowledged(let by, let at):
                "\(subject) is already acknowledged\(Self.who(by, at))"
            case .alreadyResolved(let by, let at):
                "\(subject) is already resolved\(Self.who(by, at))"
            case .emptyNote:
                "a note needs text"
            }
        }

        static func who(_ by: String?, _ at: Timestamp?) -> String {
            var s = ""
            if let by { s += " by \(by)" }
            if let at { s += " at \(at)" }
            return s
        }
    }

    /// Applies the action, returning the new incident and the timeline entry to append.
    ///
    /// An acknowledgement or a resolve is never earlier than the page of the tier the
    /// incident is at. `now` was read before the store locked the incident: an ack read at
    /// 14:59:59.9 that committed after the engine paged tier 2 at 15:00 (its deadline), or
    /// an instance whose clock is behind, would read as coming first, so tier 2's page
    /// would go out, and the acknowledgement notice after it. At the page's time, the
    /// page reads as overtaken and is not sent.
    public func apply(to incident: Incident, now: Timestamp) throws(Refusal) -> (Incident, TimelineEntry) {
        let now = max(now, incident.escalation.tierPagedAt ?? now)
        var next = incident
        switch self {
        case .acknowledge(let by, let note):
            switch incident.status {
            case .resolved: throw .alreadyResolved(by: incident.resolvedBy, at: incident.resolvedAt)
            case .acknowledged: throw .alreadyAcknowledged(by: incident.acknowledgedBy, at: incident.acknowledgedAt)
            case .triggered: break
            }
            next.status = .acknowledged
            next.acknowledgedAt = now
            next.acknowledgedBy = by
            next.escalation.firstAcknowledgedAt = next.escalation.firstAcknowledgedAt ?? now
            next.escalation.acknowledgedThrough = incident.escalation.step
            if incident.escalation.hasPaged {
                // The step an inhibitor held was the next tier's, which the acknowledgement
                // ends; its ack_timeout looks at the inhibitors when it comes due. Kept, the
                // hold had `show` name an inhibitor already resolved and put the timeout off to
                // the hold's next look (black-box round 27: 37 s late).
                next.escalation.inhibitedBy = []
                next.escalation.heldUntil = nil
            }
            return (next, TimelineEntry(incidentID: incident.id, at: now, kind: .acknowledged, by: by, detail: note))
        case .resolve(let by, let note):
            guard incident.status.isOpen else {
                throw .alreadyResolved(by: incident.resolvedBy, at: incident.resolvedAt)
            }
            next.status = .resolved
            next.resolvedAt = now
            next.resolvedBy = by
            next.escalation.resolution = .operator
            next.firingCount = 0
            next.nextEscalationAt = nil
            return (next, TimelineEntry(incidentID: incident.id, at: now, kind: .resolved, by: by, detail: note))
        case .note(let by, let text):
            guard !text.isEmpty else { throw .emptyNote }
            return (next, TimelineEntry(incidentID: incident.id, at: now, kind: .note, by: by, detail: text))
        }
    }
}
