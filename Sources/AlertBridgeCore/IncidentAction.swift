/// What an operator can do to an incident, and the pure rules for whether they may.
public enum IncidentAction: Sendable, Equatable {
    /// - takeOver: also when someone acknowledged it already: they hand it over (tier 2,
    ///   called in, takes it), or it is theirs and they are still on it. Either way its
    ///   `ack_timeout` counts from now. Without it, that is refused, so two people answering
    ///   the same page at once learn of each other.
    case acknowledge(by: String, note: String?, takeOver: Bool = false)
    case resolve(by: String, note: String?)
    case note(by: String, text: String)

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case alreadyAcknowledged(by: String?, at: Timestamp?)
        case alreadyResolved(by: String?, at: Timestamp?)
        case emptyNote

        public var description: String { text(about: nil) }

        /// The refusal about incident `id`: `incident 42 is already acknowledged by alice at …`,
        /// so an operator working several incidents at 3 a.m. sees which one, and the command
        /// that takes it over names it too.
        public func text(about id: Int64?) -> String {
            let subject = id.map { "incident \($0)" } ?? "incident"
            return switch self {
            case .alreadyAcknowledged(let by, let at):
                "\(subject) is already acknowledged\(Self.who(by, at)); to take it over, or to restart its ack_timeout: "
                    + "alertbridge ack --take-over\(id.map { " \($0)" } ?? "") (in the API, \"take_over\": true)"
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

    /// What a take-over's timeline entry says after who had it, before the operator's note.
    private static let takeOverSaid = ": the ack_timeout counts from now"

    /// An acknowledgement's timeline detail, split into what alertbridge said of a take-over
    /// (`took it over from alice`) and the operator's own note, so a page quotes only the
    /// note as their words (black-box round 34: `("took it over from alice: …")` read as a
    /// note bob wrote).
    public static func acknowledgement(_ detail: String?) -> (takeOver: String?, note: String?) {
        guard let detail, detail.hasPrefix("took it over from ") || detail.hasPrefix("acknowledged again"),
              let said = detail.range(of: takeOverSaid) else { return (nil, detail) }
        let rest = detail[said.upperBound...]
        return (String(detail[..<said.lowerBound]), rest.hasPrefix("; ") ? String(rest.dropFirst(2)) : nil)
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
        case .acknowledge(let by, let note, let takeOver):
            var detail = note
            switch incident.status {
            case .resolved: throw .alreadyResolved(by: incident.resolvedBy, at: incident.resolvedAt)
            case .acknowledged:
                guard takeOver else { throw .alreadyAcknowledged(by: incident.acknowledgedBy, at: incident.acknowledgedAt) }
                // Refused, R&D could not take an incident tier 1 had acknowledged, and its
                // ack_timeout paged tier 1 again while R&D worked on it (black-box round 29).
                let what = incident.acknowledgedBy == by ? "acknowledged again" : "took it over from \(incident.acknowledgedBy ?? "someone")"
                detail = what + Self.takeOverSaid + (note.map { "; \($0)" } ?? "")
            case .triggered: break
            }
            next.status = .acknowledged
            next.acknowledgedAt = now
            next.acknowledgedBy = by
            next.escalation.firstAcknowledgedAt = next.escalation.firstAcknowledgedAt ?? now
            next.escalation.acknowledgedThrough = incident.escalation.step
            if incident.escalation.hasPaged || incident.escalation.inhibitWaitFrom != nil {
                // The step an inhibitor held was the next tier's, which the acknowledgement
                // ends; its ack_timeout looks at the inhibitors when it comes due. Kept, the
                // hold had `show` name an inhibitor already resolved and put the timeout off to
                // the hold's next look (black-box round 27: 37 s late). Likewise the wait for
                // an inhibitor before the first page: someone has it.
                next.escalation.inhibitedBy = []
                next.escalation.heldUntil = nil
                next.escalation.inhibitWaitFrom = nil
            }
            return (next, TimelineEntry(incidentID: incident.id, at: now, kind: .acknowledged, by: by, detail: detail))
        case .resolve(let by, let note):
            guard incident.status.isOpen else {
                throw .alreadyResolved(by: incident.resolvedBy, at: incident.resolvedAt)
            }
            next.resolve(at: now, by: by, .operator)
            return (next, TimelineEntry(incidentID: incident.id, at: now, kind: .resolved, by: by, detail: note))
        case .note(let by, let text):
            guard !text.isEmpty else { throw .emptyNote }
            return (next, TimelineEntry(incidentID: incident.id, at: now, kind: .note, by: by, detail: text))
        }
    }
}
