import AlertBridgeCore

/// What `serve` says at start of open incidents the configuration no longer reaches the way
/// it did: nothing else tells the operator (black-box round 39). A rule's `dedup_key` that
/// changed keys their alerts anew, so an alert of theirs that fires again opens a second
/// incident and pages; a heartbeat renamed or removed can no longer resolve its incident by
/// a ping.
enum IncidentReview {
    static func findings(_ open: [Incident], rules: RuleSet, heartbeats: Set<String>) -> [String] {
        var rekeyed: [(rule: String, incidents: [Incident], example: String)] = []
        var orphanedHeartbeats: [(name: String, incident: Incident)] = []
        for incident in open.sorted(by: { $0.id < $1.id }) {
            if incident.labels["alertname"] == Heartbeat.alertname, let name = incident.labels["heartbeat"], !heartbeats.contains(name) {
                orphanedHeartbeats.append((name, incident))
            }
            guard let rule = rules.rules.first(where: { $0.name == incident.rule }), let template = rule.dedupKey else { continue }
            let key = template.render(incident.labels)
            guard key != incident.dedupKey, RuleSet.continuedKey(key, rule: rule.name) != incident.dedupKey else { continue }
            if let i = rekeyed.firstIndex(where: { $0.rule == rule.name }) {
                rekeyed[i].incidents.append(incident)
            } else {
                rekeyed.append((rule.name, [incident], "\(incident.dedupKey) is \(key) now"))
            }
        }
        return rekeyed.map { group in
            let one = group.incidents.count == 1
            return "open \(PolicyReview.named(group.incidents.map(\.id))) \(one ? "was" : "were") keyed by rule \(group.rule)'s "
                + "earlier dedup_key (\(group.example)): a recovery of \(one ? "its" : "their") alerts still reaches "
                + "\(one ? "it" : "them"), but one that fires again opens a new incident and pages; resolve "
                + "\(one ? "it" : "them") by hand (alertbridge resolve) once nothing of \(one ? "it" : "them") fires"
        } + orphanedHeartbeats.map { orphan in
            "open incident \(orphan.incident.id) is of heartbeat \"\(orphan.name)\", which alertbridge.yaml does not define: "
                + "no ping resolves it now; resolve it by hand (alertbridge resolve \(orphan.incident.id))"
        }
    }
}
