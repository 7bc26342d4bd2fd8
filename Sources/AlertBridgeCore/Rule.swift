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

        public init(targets: [Matcher], equal: [String]) {
            self.targets = targets
            self.equal = equal
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
}

/// An alert after routing: the rule that took it, its dedup key and the policy to run.
public struct RoutedAlert: Sendable, Equatable {
    public var alert: Alert
    public var rule: String
    public var dedupKey: String
    public var policy: String
    public var reopenWithin: Duration
    public var resolve: Rule.ResolveMode

    public init(alert: Alert, rule: String, dedupKey: String, policy: String,
                reopenWithin: Duration = .zero, resolve: Rule.ResolveMode = .all) {
        self.alert = alert
        self.rule = rule
        self.dedupKey = dedupKey
        self.policy = policy
        self.reopenWithin = reopenWithin
        self.resolve = resolve
    }
}

/// The ordered rules of all rule files. First match wins unless it says `continue`.
public struct RuleSet: Sendable, Equatable {
    public var rules: [Rule]

    /// The rule that catches what no other rule matched.
    public static let fallbackPolicy = "default"

    public init(rules: [Rule]) { self.rules = rules }

    /// Routes one alert. An alert no rule matches still becomes an incident on the
    /// last rule's policy (or `default`): alertbridge never drops an alert.
    public func route(_ alert: Alert) -> [RoutedAlert] {
        var out: [RoutedAlert] = []
        for rule in rules where rule.matchers.matchAll(alert.labels) {
            out.append(Self.apply(rule, to: alert))
            if !rule.continue { return out }
        }
        if out.isEmpty {
            let catchAll = Rule(name: "default", policy: rules.last?.policy ?? Self.fallbackPolicy)
            out.append(Self.apply(catchAll, to: alert))
        }
        return out
    }

    static func apply(_ rule: Rule, to alert: Alert) -> RoutedAlert {
        var alert = alert
        if let severity = rule.severity { alert.severity = severity }
        let key = rule.dedupKey?.render(alert.labels) ?? alert.dedupKey ?? alert.fingerprint
        let policy = rule.policyBySeverity[alert.severity] ?? rule.policy
        return RoutedAlert(alert: alert, rule: rule.name, dedupKey: key, policy: policy,
                           reopenWithin: rule.reopenWithin, resolve: rule.resolve)
    }
}
