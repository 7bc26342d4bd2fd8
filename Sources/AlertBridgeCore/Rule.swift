/// Which alerts go where: matchers, the dedup key, severity, policy and noise controls.
public struct Rule: Sendable, Equatable {
    /// When an incident holding several alerts resolves.
    public enum ResolveMode: String, Sendable, Equatable {
        /// Only when every alert in it has resolved (the default, safe for multi-host incidents).
        case all
        /// At the first resolved alert.
        case any
    }

    /// Suppress pages of target alerts while a source alert fires with equal labels.
    public struct Inhibit: Sendable, Equatable {
        public var targets: [Matcher]
        public var equal: [String]
        /// How long a new target incident waits before its first page for an incident of
        /// this rule to open (`wait`): a sender that reports a PoP's symptoms a moment
        /// before its PoP-down would page tier 1 for each of them. Zero: no wait.
        public var wait: Duration

        public init(targets: [Matcher], equal: [String], wait: Duration = .zero) {
            self.targets = targets
            self.equal = equal
            self.wait = wait
        }
    }

    public var name: String
    public var matchers: [Matcher]
    public var dedupKey: DedupKeyTemplate?
    public var severity: Severity?
    public var policy: String
    /// Policy per severity, overriding `policy` (for example `critical` → `pop-outage`).
    public var policyBySeverity: [Severity: String]
    public var reopenWithin: Duration
    /// How long an incident whose alerts have all recovered stays open before it resolves
    /// (`keep_open_for`; zero: it resolves at once). An alert that fires again meanwhile
    /// carries it on, and nobody hears it resolve or reopen: a flapping alert is one
    /// page, not a `RESOLVED` and a `REOPENED` at every flap.
    public var keepOpenFor: Duration = .zero
    public var inhibit: Inhibit?
    public var resolve: ResolveMode
    public var `continue`: Bool

    public init(
        name: String, matchers: [Matcher] = [], dedupKey: DedupKeyTemplate? = nil,
        severity: Severity? = nil, policy: String, policyBySeverity: [Severity: String] = [:],
        reopenWithin: Duration = .zero, inhibit: Inhibit? = nil, resolve: ResolveMode = .all,
        continue: Bool = false
    ) {
        self.name = name
        self.matchers = matchers
        self.dedupKey = dedupKey
        self.severity = severity
        self.policy = policy
        self.policyBySeverity = policyBySeverity
        self.reopenWithin = reopenWithin
        self.inhibit = inhibit
        self.resolve = resolve
        self.continue = `continue`
    }

    /// The name of the policy an incident of this rule runs at `severity`.
    public func policy(at severity: Severity) -> String {
        policyBySeverity[severity] ?? policy
    }
}

/// An inhibit rule whose targets match an alert: an open incident of `sourceRule`
/// with the same values of the `equal` labels suppresses the alert's pages.
public struct InhibitCandidate: Sendable, Equatable {
    public var sourceRule: String
    public var equal: [String]
    /// The targets, when the alert matches the source rule's matchers too: then, as in
    /// Alertmanager, a source that is itself a target cannot inhibit it (its own incident
    /// opened by that rule through `continue: true`, above all).
    public var twoSidedTargets: [Matcher]?
    /// The source rule's `wait` (``Rule/Inhibit/wait``).
    public var wait: Duration

    public init(sourceRule: String, equal: [String], twoSidedTargets: [Matcher]? = nil, wait: Duration = .zero) {
        self.sourceRule = sourceRule
        self.equal = equal
        self.twoSidedTargets = twoSidedTargets
        self.wait = wait
    }

    /// Alertmanager's rule: every `equal` label has the same value in both (absent counts as empty).
    public func isInhibited(_ labels: Labels, by source: Labels) -> Bool {
        if let targets = twoSidedTargets, targets.matchAll(source) { return false }
        return equal.allSatisfy { (labels[$0] ?? "") == (source[$0] ?? "") }
    }
}

extension Array where Element == InhibitCandidate {
    /// Of the incidents of each candidate's source rule (`sources`), the open ones (those
    /// `counts` takes) that inhibit `labels`, each once and by id, so a timeline names them in
    /// one order: for an alert as it arrives, and for an incident already paging whose next
    /// tier falls due.
    public func inhibiting(_ labels: Labels, sources: (String) throws -> [Incident],
                           counts: (Incident) -> Bool = \.status.isOpen) rethrows -> [Incident] {
        var found: [Incident] = []
        for candidate in self {
            for source in try sources(candidate.sourceRule)
            where counts(source) && candidate.isInhibited(labels, by: source.labels) && !found.contains(where: { $0.id == source.id }) {
                found.append(source)
            }
        }
        return found.count > 1 ? found.sorted { $0.id < $1.id } : found
    }
}

/// An alert after routing: the rule that took it, its dedup key and the policy to run.
public struct RoutedAlert: Sendable, Equatable {
    public var alert: Alert
    public var rule: String
    public var dedupKey: String
    public var policy: String
    public var reopenWithin: Duration
    /// The rule's `keep_open_for` (``Rule/keepOpenFor``).
    public var keepOpenFor: Duration = .zero
    public var resolve: Rule.ResolveMode
    /// Inhibit rules whose targets match this alert; the store looks up their sources.
    public var inhibitors: [InhibitCandidate]
    /// Its rule inhibits others (has `inhibit:`): an incident of it may hold other alerts.
    public var inhibitsOthers = false
    /// Labels the rule's `dedup_key` names and the alert lacks (they rendered empty).
    public var missingKeyLabels: [String] = []
    /// The policy named by `policy`, as loaded; a new incident keeps it as its snapshot.
    /// `nil` when no such policy is loaded: the incident is recorded but not paged.
    public var escalationPolicy: EscalationPolicy?
    /// The loaded policy of each severity, when the rule's `severity_policies` names any:
    /// an incident runs the policy of its own severity, which (severity only rises) may be
    /// above this alert's. Empty otherwise.
    public var severityPolicies: [Severity: EscalationPolicy]

    public init(alert: Alert, rule: String, dedupKey: String, policy: String,
                reopenWithin: Duration = .zero, resolve: Rule.ResolveMode = .all,
                inhibitors: [InhibitCandidate] = [], escalationPolicy: EscalationPolicy? = nil,
                severityPolicies: [Severity: EscalationPolicy] = [:]) {
        self.alert = alert
        self.rule = rule
        self.dedupKey = dedupKey
        self.policy = policy
        self.reopenWithin = reopenWithin
        self.resolve = resolve
        self.inhibitors = inhibitors
        self.escalationPolicy = escalationPolicy
        self.severityPolicies = severityPolicies
    }

    /// How long a new incident of this alert waits before its first page for an incident
    /// that inhibits it to open: the longest `wait` of the inhibit rules that target it.
    public var inhibitWait: (wait: Duration, rules: [String]) {
        let waiting = inhibitors.filter { $0.wait > .zero }
        return (waiting.map(\.wait).max() ?? .zero, waiting.map(\.sourceRule))
    }

    /// The policy an incident of this alert's key runs at `severity`: its severity's, else
    /// this alert's.
    public func policy(at severity: Severity) -> (name: String, policy: EscalationPolicy?) {
        if let policy = severityPolicies[severity] { return (policy.name, policy) }
        return (policy, escalationPolicy)
    }

    /// The loaded policy called `name` among those this alert's rule names (its own, its
    /// `severity_policies`): what an incident that keeps its policy through a rise runs.
    public func policy(named name: String) -> EscalationPolicy? {
        name == policy ? escalationPolicy : severityPolicies.values.first { $0.name == name }
    }
}

/// The ordered rules of all rule files. First match wins unless it says `continue`.
public struct RuleSet: Sendable, Equatable {
    public let rules: [Rule]
    /// The rules that inhibit others, found once so routing does not search for them.
    private let inhibitRules: [Rule]

    /// The policy of the catch-all when there are no rules at all.
    public static let fallbackPolicy = "default"

    public init(rules: [Rule]) {
        self.rules = rules
        self.inhibitRules = rules.filter { $0.inhibit != nil }
    }

    /// Routes one alert. An alert no rule matches still becomes an incident on the
    /// last rule's policy (or `default`): alertbridge never drops an alert.
    public func route(_ alert: Alert) -> [RoutedAlert] {
        var out: [RoutedAlert] = []
        for rule in rules where rule.matchers.matchAll(alert.labels) {
            var routed = route(alert, by: rule)
            // A rule reached through `continue: true` runs its own policy on its own
            // incident: with the earlier rule's key, it would only merge into that one.
            if out.contains(where: { $0.dedupKey == routed.dedupKey }) {
                routed.dedupKey = Self.continuedKey(routed.dedupKey, rule: rule.name)
            }
            out.append(routed)
            if !rule.continue { return out }
        }
        if out.isEmpty {
            out.append(route(alert, by: Rule(name: "default", policy: rules.last?.policy ?? Self.fallbackPolicy)))
        }
        return out
    }

    /// The rule called `name`, if one is loaded.
    public func rule(named name: String) -> Rule? {
        rules.first { $0.name == name }
    }

    /// The key of a continued rule's incident whose key would equal an earlier rule's.
    public static func continuedKey(_ key: String, rule: String) -> String { "\(rule)/\(key)" }

    private func route(_ alert: Alert, by rule: Rule) -> RoutedAlert {
        var alert = alert
        if let severity = rule.severity { alert.severity = severity }
        var missing: [String] = []
        var routed = RoutedAlert(
            alert: alert, rule: rule.name,
            dedupKey: rule.dedupKey?.render(alert.labels, missing: &missing) ?? alert.dedupKey ?? alert.fingerprint,
            policy: rule.policy(at: alert.severity),
            reopenWithin: rule.reopenWithin, resolve: rule.resolve)
        routed.inhibitsOthers = rule.inhibit != nil
        routed.keepOpenFor = rule.keepOpenFor
        routed.missingKeyLabels = missing
        routed.inhibitors = inhibitCandidates(of: alert.labels, rule: rule.name)
        return routed
    }

    /// The inhibit rules whose targets match these labels, taken by `rule`: an alert as it
    /// arrives, or an incident already paging whose next tier falls due. An alert never
    /// inhibits itself (Alertmanager skips sources that are also targets).
    public func inhibitCandidates(of labels: Labels, rule: String) -> [InhibitCandidate] {
        var out: [InhibitCandidate] = []
        for source in inhibitRules where source.name != rule {
            guard let inhibit = source.inhibit, inhibit.targets.matchAll(labels) else { continue }
            let twoSided = source.matchers.matchAll(labels)
            out.append(InhibitCandidate(sourceRule: source.name, equal: inhibit.equal,
                                        twoSidedTargets: twoSided ? inhibit.targets : nil, wait: inhibit.wait))
        }
        return out
    }
}
