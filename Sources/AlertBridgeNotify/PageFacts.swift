import AlertBridgeCore
import AlertBridgeStore
import Foundation

/// The facts every chat card shows, in order, and the marks that say at a glance how bad
/// a page is. Pure, shared by the Slack and Teams renderings.
extension PageText {
    public struct Fact: Sendable, Equatable {
        public var name: String
        public var value: String
        /// A sentence rather than a value (what happens next, that the page is late): a
        /// card gives it a line of its own, where Slack's fields are short columns, ten at most.
        public var isSentence = false
    }

    /// PoP, region, service, the hosts, measured value against its threshold, severity,
    /// tier, status, since when and how many alerts; only those the incident has.
    public static func facts(_ page: PageMessage) -> [Fact] {
        let i = page.incident.incident
        var facts: [Fact] = []
        for (key, value) in place(page) { facts.append(Fact(name: key == "pop" ? "PoP" : key.capitalized, value: singleLine(value))) }
        if let hosts = hosts(page) { facts.append(Fact(name: "Hosts", value: hosts)) }
        if let measured = measured(page) { facts.append(Fact(name: "Value", value: measured)) }
        if let details = details(page) { facts.append(Fact(name: "Details", value: details, isSentence: true)) }
        facts.append(Fact(name: "Severity", value: i.severity.rawValue))
        facts.append(Fact(name: "Tier", value: tier(page)))
        facts.append(Fact(name: "Status", value: i.status.rawValue))
        if let next = next(page) { facts.append(Fact(name: "Next", value: next, isSentence: true)) }
        if let late = movedOn(page) { facts.append(Fact(name: "Sent late", value: late, isSentence: true)) }
        facts.append(Fact(name: "Since", value: time(since(page), in: page.timeZone)))
        facts.append(Fact(name: "Alerts", value: alertTally(page)))
        if let source = sourceView(page) { facts.append(Fact(name: "Source", value: singleLine(source))) }
        return facts
    }

    /// The tier a tier page calls (`1 (technical-support)`); on a notice the incident's own
    /// tier, as the email's `Status:` line says: a notice reaching tier 1's channel after
    /// escalation ended at tier 2 is about an incident at tier 2, not 1.
    static func tier(_ page: PageMessage) -> String {
        let i = page.incident.incident
        let d = page.delivery
        guard d.event.isNotice, i.tier != d.tier else { return "\(d.tier) (\(d.tierName))" }
        guard let name = page.incident.policy?.tier(i.tier)?.name else { return "\(i.tier)" }
        return "\(i.tier) (\(name))"
    }

    /// Where the problem is: the CDN's `pop`, `region` and `service` labels, each the
    /// incident's own then the others its alerts carry (``describedAlerts(_:)``, five at
    /// most: an origin's incident that 60 PoPs report named only the PoP of its first
    /// alert, which was down, black-box round 37); for an alert without them, a PagerDuty
    /// event's `source` (the affected host, said as `host`: its `client` is the page's
    /// Source), `component`, `group` and `class`.
    static func place(_ page: PageMessage) -> [(String, String)] {
        let i = page.incident.incident
        let cdn = ["pop", "region", "service"].compactMap { key in
            i.labels[key].map { own in
                (key, fiveAtMost([own] + Set(describedAlerts(page).compactMap { $0.labels[key] }).subtracting([own]).sorted()))
            }
        }
        guard cdn.isEmpty else { return cdn }
        return ["source", "component", "group", "class"].compactMap { key in
            i.labels[key].map { (key == "source" ? "host" : key, $0) }
        }
    }

    /// The sender's own view of the problem (a PagerDuty event's `client` and
    /// `client_url`, such as Grafana's alert page; an Alertmanager alert's `generatorURL`,
    /// the graph of the rule's expression): where the person paged looks next.
    public static func sourceView(_ page: PageMessage) -> String? {
        let a = page.incident.incident.annotations
        guard let url = a["client_url"] else { return a["generator_url"] }
        return a["client"].map { "\($0) \(url)" } ?? url
    }

    /// Annotations a page shows on lines of their own, not among ``details(_:)``.
    static let shownAnnotations: Set = ["summary", "description", "runbook", "runbook_url", "client", "client_url", "generator_url"]

    /// What the sender said beyond the title, on one line, cut at 500 characters: an
    /// Alertmanager alert's `description`, then its other annotations and a PagerDuty
    /// event's `custom_details` fields (`hit_ratio: 0.62`), by name. They reached only a
    /// webhook's document, where Alertmanager's and PagerDuty's own pages show them
    /// (black-box round 28).
    public static func details(_ page: PageMessage) -> String? {
        let a = titleAlert(page)?.annotations ?? page.incident.incident.annotations
        var parts: [String] = []
        if let description = a["description"].map(singleLine), !description.isBlank,
           description != singleLine(page.incident.incident.title) {
            parts.append(description)
        }
        parts += a.filter { !shownAnnotations.contains($0.key) && !$0.value.isBlank }.sorted { $0.key < $1.key }
            .map { "\(singleLine($0.key)): \(singleLine($0.value))" }
        return parts.isEmpty ? nil : clipped(parts.joined(separator: "; "), to: 500)
    }

    /// `1.4 (threshold 0.8)`: the value of the alert the page is titled by, so the number
    /// and the host in the title are one alert's (a storm of 400 hosts paged the title of
    /// its critical host with the value of whichever host sorted first).
    ///
    /// On an open incident, a value whose alert has recovered says so: R&D was paged
    /// "critical, 2.3" beside the one host still firing, a warning at 0.9 (black-box round 28).
    public static func measured(_ page: PageMessage) -> String? {
        guard let alert = titleAlert(page), let value = alert.value else { return nil }
        let recovered = alert.status == .firing || !page.incident.incident.status.isOpen ? ""
            : ", from \((alert.labels["instance"] ?? alert.labels["host"]).map { singleLine($0) + ", " } ?? "")an alert that has recovered"
        return "\(format(value))\(alert.threshold.map { " (threshold \(format($0)))" } ?? "")\(recovered)"
    }

    /// Of the alerts at the incident's severity (which the alert that set the title had):
    /// the one whose summary is the title, value or not; when none is (its summary moved
    /// on), one that carries a value. Firing first, latest seen. A reopened incident titled
    /// by a host that sent no value showed the value of the host that fired before.
    static func titleAlert(_ page: PageMessage) -> StoredAlert? {
        let i = page.incident.incident
        let ofSeverity = page.incident.alerts.filter { $0.severity == i.severity }
        let titled = ofSeverity.filter { $0.summary == i.title }
        return (titled.isEmpty ? ofSeverity.filter { $0.value != nil } : titled)
            .max { ($0.status == .firing ? 1 : 0, $0.lastSeenAt) < ($1.status == .firing ? 1 : 0, $1.lastSeenAt) }
    }

    /// The one-line headline of a chat card: what happened, then the subject.
    public static func headline(_ page: PageMessage) -> String {
        "\(emoji(page)) \(subject(page))"
    }

    /// The runbook, when the incident's annotations have one: a link or a note.
    public static func runbook(_ page: PageMessage) -> String? {
        let a = page.incident.incident.annotations
        return a["runbook"] ?? a["runbook_url"]
    }

    /// The runbook when it is an absolute http(s) URL, for a button or a link: Teams
    /// drops a card whose `Action.OpenUrl` is not one, after answering 202. Percent-encoded
    /// where a sender left a space or `<` in it, which broke Slack's link (black-box round 28).
    public static func runbookLink(_ page: PageMessage) -> String? {
        guard let runbook = runbook(page), let url = URL(string: runbook), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host?.isEmpty == false else { return nil }
        return url.absoluteString
    }

    /// The command that acknowledges, while there is something to acknowledge.
    public static func ackCommand(_ page: PageMessage) -> String? {
        page.incident.incident.status == .triggered ? "alertbridge ack \(page.incident.incident.id)" : nil
    }

    /// The first line of the body: why this page was sent.
    public static func lead(_ page: PageMessage) -> String {
        body(page).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    }

    /// ✅ resolved (⚪ closed by `auto_resolve_after`, not a recovery), 👀 acknowledged, else
    /// by severity: 🔴 critical, 🟠 error, 🟡 warning, 🔵 info.
    public static func emoji(_ page: PageMessage) -> String {
        switch page.delivery.event {
        case .resolved where closedWithoutRecovery(page): return "⚪"
        case .resolved: return "✅"
        case .acknowledged: return "👀"
        default: break
        }
        switch page.incident.incident.severity {
        case .critical: return "🔴"
        case .error: return "🟠"
        case .warning: return "🟡"
        case .info: return "🔵"
        }
    }
}
