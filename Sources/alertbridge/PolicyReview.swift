import AlertBridgeCore
import AlertBridgeStore

/// What `serve` says at start of the policies open incidents run. Each incident keeps the
/// copy of its policy it started with, so neither an edit nor a connector renamed since
/// reaches it (black-box round 27: after `mail:` was renamed, an open incident's pages to
/// it were retried for `max_age` and given up, and the start said nothing).
enum PolicyReview {
    struct Finding: Equatable {
        /// A page will fail (a connector the file no longer defines), not only differ.
        var isWarning: Bool
        var text: String
    }

    static func findings(_ inUse: [PolicyInUse], policies: [String: EscalationPolicy], connectors: Set<String>,
                         maxAge: Duration) -> [Finding] {
        inUse.compactMap { use in
            let which = "open \(named(use.incidents)) \(use.incidents.count == 1 ? "runs" : "run") policy \"\(use.policy.name)\" "
                + "as it was when \(use.incidents.count == 1 ? "it" : "they") started"
            let missing = Set(use.policy.tiers.flatMap { $0.notify.map(\.connector) }).subtracting(connectors).sorted()
            if !missing.isEmpty {
                let names = missing.map { "\"\($0)\"" }.joined(separator: ", ")
                return Finding(isWarning: true, text: which + ", which pages \(missing.count == 1 ? "connector" : "connectors") \(names): "
                    + "alertbridge.yaml defines no such connector now, so those pages are retried for max_age "
                    + "(\(DurationText.format(maxAge))) and then given up; define it again, or escalate or resolve them")
            }
            guard let current = policies[use.policy.name] else {
                let goOn = use.incidents.count == 1 ? "it goes on with its copy" : "they go on with their copy"
                return Finding(isWarning: false, text: which + "; the policy files no longer have it, and \(goOn)")
            }
            guard current != use.policy else { return nil }
            return Finding(isWarning: false, text: which + "; the policy was edited since, and the edit applies to new incidents only")
        }
    }

    /// `incident 4`, `incidents 4, 7`, or the first ten and `and 3 more`.
    static func named(_ ids: [Int64]) -> String {
        let shown = ids.prefix(10).map(String.init).joined(separator: ", ")
        let more = ids.count > 10 ? " and \(ids.count - 10) more" : ""
        return (ids.count == 1 ? "incident " : "incidents ") + shown + more
    }
}
