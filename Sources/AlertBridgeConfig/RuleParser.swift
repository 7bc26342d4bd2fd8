import AlertBridgeCore
import Yams

/// Reads `rules/*.yaml`, one file after another, into the ordered rules of a `RuleSet`.
struct RuleParser {
    /// Policy names that files declared, even those of policies with problems, so a
    /// rule is not also reported for naming a policy that is merely broken. Nil when a
    /// policy file could not be read, so its name is unknown.
    let policyNames: Set<String>?
    /// How the policies directory is named in a "not defined" problem.
    let policiesDirectory: String

    private(set) var rules: [Rule] = []
    /// Where each rule name was first defined, for "duplicate" problems across files.
    private var definitions: [String: String] = [:]
    /// The first rule that takes every alert and stops (no matchers, no `continue: true`),
    /// with how many rules come after it across all files: those can never match.
    private var catchAll: (name: String, node: Node, file: YAMLFile, rulesAfter: Int)?

    init(policyNames: Set<String>?, policiesDirectory: String) {
        self.policyNames = policyNames
        self.policiesDirectory = policiesDirectory
    }

    static let keys = ["name", "match", "dedup_key", "severity", "policy", "severity_policies",
                       "reopen_within", "keep_open_for", "inhibit", "resolve", "continue"]

    mutating func parse(_ root: Node, in file: YAMLFile) {
        guard let top = file.fields(root, allowed: ["rules"], required: ["rules"],
                                    expected: "a mapping with a \"rules\" list")
        else { return }
        // `rules:` with every rule commented out is an empty file, not a mistake.
        guard let list = top["rules"], !list.isNull, let items = file.list(list) else { return }
        for item in items {
            catchAll?.rulesAfter += 1
            if let rule = parseRule(item, in: file) { rules.append(rule) }
            if catchAll == nil, let name = Self.takesEveryAlert(item) { catchAll = (name, item, file, 0) }
        }
    }

    /// The name of a rule that takes every alert and stops (no matchers, no
    /// `continue: true`), judged from what is written, so that it is reported together
    /// with the rule's other problems (an undefined policy). Not a rule with a key this
    /// parser does not know: that may be a misspelt `match:` or `continue:`.
    private static func takesEveryAlert(_ node: Node) -> String? {
        guard case .mapping(let mapping) = node else { return nil }
        var written: [String: Node] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, keys.contains(scalar.string) else { return nil }
            written[scalar.string] = value
        }
        guard case .scalar(let name)? = written["name"], !name.string.isEmpty else { return nil }
        if let match = written["match"], !match.isNull {
            guard case .sequence(let matchers) = match, matchers.isEmpty else { return nil }
        }
        if let next = written["continue"], next.bool != false { return nil }
        return name.string
    }

    /// Called after the last file: a catch-all before other rules makes them unreachable,
    /// which is never meant (a rule file named to sort before the others, a rule moved up).
    /// Reported with the other problems, so one `check` lists them all.
    func reportUnreachableRules() {
        guard let catchAll, catchAll.rulesAfter > 0 else { return }
        let after = catchAll.rulesAfter == 1 ? "the rule after it never matches" : "the \(catchAll.rulesAfter) rules after it never match"
        catchAll.file.report("rule \"\(catchAll.name)\" matches every alert and has no continue: true, so \(after); put it last",
                             at: catchAll.node)
    }

    private mutating func parseRule(_ node: Node, in file: YAMLFile) -> Rule? {
        guard let fields = file.fields(node, allowed: Self.keys, required: ["name", "policy"],
                                       misplaced: ["wait": "under inhibit:", "targets": "under inhibit:", "equal": "under inhibit:"]) else { return nil }
        var valid = true
        func read<T>(_ key: String, _ reader: (Node) -> T?) -> T? {
            guard let node = fields[key] else { return nil }
            let value = reader(node)
            if value == nil { valid = false }
            return value
        }

        let name = read("name") { file.name($0) }
        if let name, let node = fields["name"] {
            let here = file.place(of: node)
            if let first = definitions[name] {
                file.report("duplicate rule name \"\(name)\" (first defined at \(first))", at: node)
                valid = false
            } else {
                definitions[name] = here
            }
        }
        let matchers = read("match") { self.matchers($0, in: file) }
        let dedupKey = read("dedup_key") { node -> DedupKeyTemplate? in
            guard let text = file.string(node) else { return nil }
            do throws(TemplateError) { return try DedupKeyTemplate(parsing: text) } catch {
                file.report(error.description, at: node)
                return nil
            }
        }
        let severity = read("severity") { file.choice($0, "severity") as Severity? }
        let policy = read("policy") { self.policyName($0, in: file) }
        let bySeverity = read("severity_policies") { self.severityPolicies($0, in: file) }
        let reopenWithin = read("reopen_within") { file.duration($0) }
        // A recovered incident's next tier waits this long: an hour of it is a missed page.
        let keepOpenFor = read("keep_open_for") {
            file.duration($0, what: "keep_open_for",
                          atMost: (Self.longestKeepOpen, "a recovered incident pages nobody while it is kept open"))
        }
        let inhibit = read("inhibit") { self.inhibit($0, in: file) }
        let resolve = read("resolve") { file.choice($0, "resolve mode", among: [Rule.ResolveMode.all, .any]) }
        if keepOpenFor != nil, resolve == .any, let node = fields["keep_open_for"] {
            // Any recovery resolves such an incident while others fire: a copy of one of them
            // would carry it on at once, and it would never resolve.
            file.report("keep_open_for needs resolve: all (the default): with resolve: any the incident resolves on any recovery", at: node)
            valid = false
        }
        let `continue` = read("continue") { file.bool($0) }

        guard valid, let name, let policy else { return nil }
        var rule = Rule(name: name, matchers: matchers ?? [], dedupKey: dedupKey, severity: severity,
                        policy: policy, policyBySeverity: bySeverity ?? [:], reopenWithin: reopenWithin ?? .zero,
                        inhibit: inhibit, resolve: resolve ?? .all, continue: `continue` ?? false)
        rule.keepOpenFor = keepOpenFor ?? .zero
        return rule
    }

    /// Each bad matcher is reported at its own list item, not at `match:`.
    private func matchers(_ node: Node, in file: YAMLFile) -> [Matcher]? {
        guard let items = file.list(node) else { return nil }
        var matchers: [Matcher] = []
        for item in items {
            guard let text = file.string(item) else { continue }
            do { matchers.append(try Matcher(parsing: text)) } catch { file.report(error.description, at: item) }
        }
        return matchers.count == items.count ? matchers : nil
    }

    private func policyName(_ node: Node, in file: YAMLFile) -> String? {
        guard let name = file.name(node) else { return nil }
        guard let policyNames else { return name }
        guard policyNames.contains(name) else {
            let defined = policyNames.isEmpty
                ? "no policy is defined in \(policiesDirectory)"
                : "defined: \(policyNames.sorted().joined(separator: ", "))"
            file.report("policy \"\(name)\" is not defined (\(defined))", at: node)
            return nil
        }
        return name
    }

    private func severityPolicies(_ node: Node, in file: YAMLFile) -> [Severity: String]? {
        guard let entries = file.namedEntries(node) else { return nil }
        var out: [Severity: String] = [:]
        for (_, key, value) in entries {
            let severity = file.choice(key, "severity") as Severity?
            let policy = policyName(value, in: file)
            if let severity, let policy { out[severity] = policy }
        }
        return out.count == entries.count ? out : nil
    }

    private func inhibit(_ node: Node, in file: YAMLFile) -> Rule.Inhibit? {
        guard let fields = file.fields(node, allowed: ["targets", "equal", "wait"], required: ["targets"]),
              let targetsNode = fields["targets"], let targets = matchers(targetsNode, in: file)
        else { return nil }
        if targets.isEmpty {
            file.report("inhibit needs at least one target matcher", at: targetsNode)
            return nil
        }
        var equal: [String] = []
        if let equalNode = fields["equal"] {
            guard let items = file.list(equalNode) else { return nil }
            for item in items {
                guard let label = file.string(item) else { continue }
                if Matcher.isValidLabelName(label) {
                    equal.append(label)
                } else {
                    file.report("invalid label name \"\(label)\"", at: item)
                }
            }
            guard equal.count == items.count else { return nil }
        }
        var wait = Duration.zero
        if let waitNode = fields["wait"] {
            if let text = file.string(waitNode), DurationText.parse(text.trimmingCharacters(in: .whitespaces)) == .zero {
                file.report("inhibit wait \"\(text)\" must be greater than zero; leave wait: out for no wait", at: waitNode)
                return nil
            }
            // A target pages nobody while it waits: a wait of minutes is a missed page.
            guard let read = file.duration(waitNode, what: "inhibit wait",
                                           atMost: (Self.longestInhibitWait, "a new target incident pages nobody while it waits")) else { return nil }
            wait = read
        }
        return Rule.Inhibit(targets: targets, equal: equal, wait: wait)
    }

    /// The longest inhibit `wait`: long enough for a sender's next flush or probe run,
    /// short against any response target.
    static let longestInhibitWait: Duration = .seconds(120)

    /// The longest `keep_open_for`: long enough to ride out a flapping metric's dips,
    /// short enough that a recovered incident's held next tier is not a missed page.
    static let longestKeepOpen: Duration = .seconds(15 * 60)
}
