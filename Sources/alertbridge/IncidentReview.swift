import AlertBridgeCore
import AlertBridgeStore

/// What `serve` does and says at start about open incidents the configuration no longer
/// reaches the way it did (black-box rounds 39 and 40). A rule's `dedup_key` that changed
/// keys their alerts anew: an alert of theirs that fired again opened a second incident
/// and paged, and its recovery resolved only that one, so an old PoP-down incident held
/// its PoP's symptoms for good. They take the new key (``rekeys(_:rules:)``). A heartbeat
/// renamed or removed can no longer resolve its incident by a ping: said.
enum IncidentReview {
    /// An open incident whose rule renders another key for it now.
    struct Rekey: Equatable {
        var id: Int64
        var rule: String
        var old: String
        var key: String

        /// Its timeline entry.
        var why: String {
            "keyed \(key) now (was \(old)): rule \(rule)'s dedup_key changed, and its alerts merge into this incident under the new key"
        }
    }

    /// The open incidents whose rule's `dedup_key` renders another key for their labels
    /// now, in id order.
    static func rekeys(_ open: [Incident], rules: RuleSet) -> [Rekey] {
        open.sorted { $0.id < $1.id }.compactMap { incident in
            guard let rule = rules.rule(named: incident.rule), let template = rule.dedupKey else { return nil }
            let key = template.render(incident.labels)
            guard key != incident.dedupKey, RuleSet.continuedKey(key, rule: rule.name) != incident.dedupKey else { return nil }
            return Rekey(id: incident.id, rule: rule.name, old: incident.dedupKey, key: key)
        }
    }

    /// What the start says of them: those that took their new key (a notice), and those
    /// whose new key an incident has already (`refused`, a warning).
    static func findings(rekeyed: [Rekey], refused: [Rekey]) -> [(isWarning: Bool, text: String)] {
        /// One line per rule: `open incidents 1, 2 were keyed by rule pop-down's earlier dedup_key` and `rest`.
        func said(_ all: [Rekey], isWarning: Bool, _ rest: (_ first: Rekey, _ one: Bool) -> String) -> [(isWarning: Bool, text: String)] {
            Dictionary(grouping: all, by: \.rule).values.sorted { $0[0].id < $1[0].id }.map { group in
                let one = group.count == 1
                return (isWarning, "open \(PolicyReview.named(group.map(\.id))) \(one ? "was" : "were") keyed by rule \(group[0].rule)'s "
                    + "earlier dedup_key" + rest(group[0], one))
            }
        }
        return said(rekeyed, isWarning: false) { first, one in
            " and \(one ? "takes" : "take") the key it renders now (\(first.old) is \(first.key)): "
                + "\(one ? "its" : "their") alerts merge into \(one ? "it" : "them") as before"
        } + said(refused, isWarning: true) { first, one in
            " (\(first.old) is \(first.key) now), a key another incident has already: \(one ? "its" : "their") "
                + "alerts go to that one now; resolve \(one ? "it" : "them") by hand (alertbridge resolve)"
        }
    }

    /// An open incident nobody was paged for yet whose next look moves with the policy as
    /// loaded (``retimes(_:context:)``).
    struct Retime: Equatable {
        var id: Int64
        var old: Timestamp?
        var new: Timestamp?
    }

    /// Open incidents nobody was paged for yet whose policy was edited (or whose rule names
    /// another): their first page goes by the policy as loaded, and so must the time of
    /// their next look. An acknowledgement's `ack_timeout` shortened from 3m to 1m paged at
    /// the 3m its copy had set, called "2m late", while `show` said 1m (black-box round 41).
    static func retimes(_ details: [IncidentDetail], context: EscalationContext) -> [Retime] {
        details.sorted { $0.incident.id < $1.incident.id }.compactMap { detail in
            let incident = detail.incident
            guard let copy = detail.policy else { return nil }
            let policy = context.pagingPolicy(of: incident, copy: copy)
            guard policy != copy else { return nil }
            let due = EscalationPlanner.nextDue(incident, policy: policy)
            return due == incident.nextEscalationAt ? nil : Retime(id: incident.id, old: incident.nextEscalationAt, new: due)
        }
    }

    /// What the start says of those it moved.
    static func retimed(_ moved: [Retime]) -> String? {
        guard !moved.isEmpty else { return nil }
        let one = moved.count == 1
        return "open \(PolicyReview.named(moved.map(\.id))), nobody paged for \(one ? "it" : "them") yet, \(one ? "takes its" : "take their") "
            + "timers from the policy as loaded now (edited since \(one ? "it" : "they") opened), as \(one ? "its" : "their") first page will"
    }

    /// The open incidents of heartbeats `alertbridge.yaml` does not define, which no ping resolves.
    static func orphanedHeartbeats(_ open: [Incident], heartbeats: Set<String>) -> [String] {
        open.sorted { $0.id < $1.id }.compactMap { incident in
            guard incident.labels["alertname"] == Heartbeat.alertname, let name = incident.labels["heartbeat"],
                  !heartbeats.contains(name) else { return nil }
            return "open incident \(incident.id) is of heartbeat \"\(name)\", which alertbridge.yaml does not define: "
                + "no ping resolves it now; resolve it by hand (alertbridge resolve \(incident.id))"
        }
    }
}
