import AlertBridgeCore
import AlertBridgeStore
@testable import AlertBridgeNotify
import Foundation
import Testing

@Suite struct SlackPayloadTests {
    /// A cut never ends inside an escape: `&am…` would show as text.
    @Test func clippingKeepsEscapesWhole() {
        #expect(SlackMessage.clip("a &amp; b", 6) == "a …")
        #expect(SlackMessage.clip("a &amp; b", 9) == "a &amp; b")
        #expect(SlackMessage.clip("ab &lt;xy", 8) == "ab &lt;…")
    }

    /// A runbook URL with `|` (a Grafana variable list) still links, to the whole URL; so
    /// does one with spaces or `<`, percent-encoded (black-box round 28: the space broke
    /// Slack's link, and went raw into Teams' button).
    @Test func aRunbookURLWithAPipeStillLinks() throws {
        var page = Pages.page()
        page.incident.incident.annotations["runbook"] = "https://grafana.example.com/d/edge?var-pop=ICN1|NRT2"
        #expect(SlackMessage.context(page).hasSuffix("<https://grafana.example.com/d/edge?var-pop=ICN1%7CNRT2|Runbook>"))
        page.incident.incident.annotations["runbook"] = "https://wiki.example.com/display/OPS/Edge Latency (NRT2)?x=<1>"
        let encoded = "https://wiki.example.com/display/OPS/Edge%20Latency%20(NRT2)?x=%3C1%3E"
        #expect(SlackMessage.context(page).hasSuffix("<\(encoded)|Runbook>"))
        let card = try #require(TeamsMessage.payload(page)["attachments"]?[0]?["content"])
        #expect(card["actions"]?[0]?["url"] == .string(encoded))
    }

    @Test func blockKitWithHeaderFieldsAckCommandContextAndTextFallback() throws {
        let payload = SlackMessage.payload(Pages.page(.escalated, step: 2, tier: 2, recipients: []))
        let blocks = try #require(payload["blocks"]?.arrayValue)
        #expect(blocks.map { $0["type"]?.stringValue } == ["header", "section", "section", "section", "context"])
        #expect(blocks[0]["text"]?["text"] == "🔴 ESCALATED [CRITICAL] ICN1 cdn-edge: p95 latency 1.4s at ICN1 (threshold 800ms) (#42)")
        #expect(blocks[0]["text"]?["type"] == "plain_text")
        #expect(blocks[1]["text"]?["text"]?.stringValue?.hasPrefix("*Incident #42 needs tier 2 (rnd): the previous tier did not acknowledge in time.*") == true)
        let fields = try #require(blocks[2]["fields"]?.arrayValue).compactMap { $0["text"]?.stringValue }
        #expect(fields.prefix(5) == ["*PoP*\nICN1", "*Region*\napac", "*Service*\ncdn-edge", "*Value*\n1.4 (threshold 0.8)",
                                     "*Severity*\ncritical"])
        #expect(fields.contains("*Tier*\n2 (rnd)"))
        #expect(fields.contains("*Status*\ntriggered"))
        #expect(fields.count <= 10)
        #expect(blocks[3]["text"]?["text"] == "Acknowledge: `alertbridge ack 42`")
        let context = try #require(blocks[4]["elements"]?[0]?["text"]?.stringValue)
        #expect(context.contains("<https://wiki.example.com/runbooks/edge-latency|Runbook>"))
        let text = try #require(payload["text"]?.stringValue)
        #expect(text.hasPrefix("🔴 ESCALATED [CRITICAL]"))
        #expect(text.contains("PoP: ICN1"))
        #expect(text.contains("Acknowledge: `alertbridge ack 42`"))
    }

    @Test func markersFollowTheEventAndSeverity() {
        func header(_ page: PageMessage) -> String? { SlackMessage.payload(page)["blocks"]?[0]?["text"]?["text"]?.stringValue }
        #expect(header(Pages.page(.resolved, status: .resolved))?.hasPrefix("✅ RESOLVED") == true)
        #expect(header(Pages.page(.acknowledged, status: .acknowledged))?.hasPrefix("👀 ACKNOWLEDGED") == true)
        #expect(header(Pages.page(severity: .error))?.hasPrefix("🟠") == true)
        #expect(header(Pages.page(severity: .warning))?.hasPrefix("🟡") == true)
        #expect(header(Pages.page(severity: .info))?.hasPrefix("🔵") == true)
        // Nothing left to acknowledge: no command.
        #expect(SlackMessage.payload(Pages.page(.resolved, status: .resolved))["blocks"]?.arrayValue?.count == 4)
    }

    @Test func alertTextCannotBecomeSlackMarkupAndLongTitlesAreCut() throws {
        let title = "latency <@channel> & <https://evil.example|click> " + String(repeating: "x", count: 300)
        let payload = SlackMessage.payload(Pages.page(title: title))
        let section = try #require(payload["blocks"]?[1]?["text"]?["text"]?.stringValue)
        #expect(section.contains("&lt;@channel&gt; &amp; &lt;https://evil.example|click&gt;"))
        #expect(!section.contains("<@channel>"))
        #expect(try #require(payload["blocks"]?[0]?["text"]?["text"]?.stringValue).count <= 150)
    }

    @Test func encodesAsCompactDeterministicJSON() throws {
        let bytes = SlackMessage.payload(Pages.page()).encoded()
        #expect(bytes == SlackMessage.payload(Pages.page()).encoded())
        #expect(try JSONValue.decode(bytes) == SlackMessage.payload(Pages.page()))
    }
}

@Suite struct TeamsPayloadTests {
    @Test func workflowsMessageCarryingAnAdaptiveCard() throws {
        let payload = TeamsMessage.payload(Pages.page(.triggered, title: Pages.korean))
        #expect(payload["type"] == "message")
        let attachment = try #require(payload["attachments"]?[0])
        #expect(attachment["contentType"] == "application/vnd.microsoft.card.adaptive")
        let card = try #require(attachment["content"])
        #expect(card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json")
        #expect(card["type"] == "AdaptiveCard")
        #expect(card["version"] == "1.4")
        let body = try #require(card["body"]?.arrayValue)
        #expect(body[0]["type"] == "TextBlock")
        #expect(body[0]["text"]?.stringValue?.hasPrefix("🔴 [CRITICAL] ICN1 cdn-edge: ICN1 엣지 지연") == true)
        #expect(body[0]["color"] == "Attention")
        let factSet = try #require(body.first { $0["type"] == "FactSet" })
        let facts = try #require(factSet["facts"]?.arrayValue).map { ($0["title"]?.stringValue ?? "", $0["value"]?.stringValue ?? "") }
        #expect(facts.first! == ("PoP", "ICN1"))
        #expect(facts.contains { $0 == ("Value", "1.4 (threshold 0.8)") })
        #expect(facts.contains { $0 == ("Tier", "1 (technical-support)") })
        #expect(body.contains { $0["text"] == "Acknowledge: `alertbridge ack 42`" })
        #expect(card["actions"]?[0]?["url"] == "https://wiki.example.com/runbooks/edge-latency")
    }

    /// A notice reaching tier 1's channel is about the incident as it stands: escalation
    /// that ended at tier 2 shows tier 2, as the email's `Status:` line does, not the tier of
    /// the channel it reached.
    @Test func aNoticeShowsTheIncidentsTierNotTheChannels() throws {
        var ended = Pages.page(.escalationEnded, step: 3, tier: 1)
        ended.incident.incident.tier = 2
        ended.incident.policy = Pages.policy
        #expect(PageText.facts(ended).first { $0.name == "Tier" }?.value == "2 (rnd)")
        #expect(PageText.body(ended).contains("\nStatus:   triggered, tier 2, policy cdn-performance\n"))
        ended.incident.policy = nil
        #expect(PageText.facts(ended).first { $0.name == "Tier" }?.value == "2")
        // A tier page names the tier it calls, late or not.
        var late = Pages.page(.triggered, tier: 1)
        late.incident.incident.tier = 2
        #expect(PageText.facts(late).first { $0.name == "Tier" }?.value == "1 (technical-support)")
    }

    /// Teams drops a card whose button is not a URL (after answering 202): a runbook that is
    /// a note is shown as text instead, in Slack too.
    @Test func aRunbookThatIsNotALinkIsTextNotAButton() throws {
        var page = Pages.page()
        page.incident.incident.annotations["runbook"] = "see wiki: edge latency"
        let card = try #require(TeamsMessage.payload(page)["attachments"]?[0]?["content"])
        #expect(card["actions"] == nil)
        #expect(try #require(card["body"]?.arrayValue).contains { $0["text"] == "Runbook: see wiki: edge latency" })
        #expect(SlackMessage.context(page).contains("runbook: see wiki: edge latency"))
        #expect(!SlackMessage.context(page).contains("|Runbook>"))
    }

    @Test func resolvedCardsAreGreenWithoutAnAckCommand() throws {
        let card = try #require(TeamsMessage.payload(Pages.page(.resolved, status: .resolved))["attachments"]?[0]?["content"])
        let body = try #require(card["body"]?.arrayValue)
        #expect(body[0]["color"] == "Good")
        #expect(!body.contains { $0["text"]?.stringValue?.contains("alertbridge ack") == true })
    }
}

@Suite struct WebhookPayloadTests {
    @Test func documentHoldsEventIncidentAndDelivery() throws {
        let payload = WebhookDocument.payload(Pages.page(.escalated, step: 2, tier: 2, deliveryID: 19, connector: "ops-hook"))
        #expect(payload["version"] == 1)
        #expect(payload["event"] == "escalated")
        let incident = try #require(payload["incident"])
        #expect(incident["id"] == 42)
        #expect(incident["status"] == "triggered")
        #expect(incident["dedup_key"] == "EdgeLatencyHigh/ICN1/cdn-edge")
        #expect(incident["title"] == "p95 latency 1.4s at ICN1 (threshold 800ms)")
        #expect(incident["severity"] == "critical")
        #expect(incident["labels"]?["pop"] == "ICN1")
        #expect(incident["tier"] == 2)
        #expect(incident["alert_count"] == 3)
        #expect(incident["created_at"] == "2026-11-23T18:05:00Z")
        #expect(incident["acknowledged_at"] == .null)
        #expect(incident["alerts"]?[0]?["value"] == .number(1.4))
        let delivery = try #require(payload["delivery"])
        #expect(delivery["id"] == 19)
        #expect(delivery["tier"] == 2)
        #expect(delivery["tier_name"] == "rnd")
        #expect(delivery["step"] == 2)
        #expect(delivery["attempt"] == 1)
        #expect(delivery["connector"] == "ops-hook")
        #expect(payload["subject"]?.stringValue?.hasPrefix("ESCALATED [CRITICAL]") == true)
        #expect(payload["text"]?.stringValue?.contains("alertbridge ack 42") == true)
        #expect(incident["alerts_omitted"] == 0)
    }

    /// A PoP storm of 5,000 alerts: the document lists 100, the firing ones first, and says
    /// how many it left out, so every event stays well under a proxy's 1 MB limit.
    @Test func aStormsDocumentListsTheFirstHundredFiringAlerts() throws {
        var page = Pages.page()
        let one = page.incident.alerts[0]
        page.incident.alerts = (0..<5000).map { n in
            var a = one
            a.fingerprint = "edge-\(n)"
            a.status = n < 300 ? .resolved : .firing
            return a
        }
        let incident = try #require(WebhookDocument.payload(page)["incident"])
        let alerts = try #require(incident["alerts"]?.arrayValue)
        #expect(alerts.count == 100)
        #expect(alerts.allSatisfy { $0["status"] == "firing" })
        #expect(alerts.first?["fingerprint"] == "edge-300")
        #expect(incident["alerts_omitted"] == 4900)
        #expect(WebhookDocument.payload(page).encoded().count < 100_000)
    }
}

/// Where the person paged looks next: a PagerDuty sender's own page for the problem.
@Suite struct SourceViewTests {
    @Test func aSendersClientURLIsOnEveryPage() throws {
        var page = Pages.page()
        #expect(PageText.sourceView(page) == nil && !PageText.body(page).contains("Source:"))
        page.incident.incident.annotations["client"] = "Grafana"
        page.incident.incident.annotations["client_url"] = "https://grafana.example.com/alerting/list"
        #expect(PageText.body(page).contains("\nSource:   Grafana https://grafana.example.com/alerting/list\n"))
        #expect(PageText.facts(page).last == PageText.Fact(name: "Source", value: "Grafana https://grafana.example.com/alerting/list"))
        let fields = try #require(SlackMessage.payload(page)["blocks"]?[2]?["fields"]?.arrayValue).compactMap { $0["text"]?.stringValue }
        #expect(fields.contains("*Source*\nGrafana https://grafana.example.com/alerting/list"), "\(fields)")

        // What happens next is a sentence: a line of its own on a Slack card, not an
        // eleventh field that would push the source off it (Slack shows ten).
        page.incident.incident = EscalationPlanner.start(page.incident.incident, policy: Pages.policy, now: Pages.t0).incident
        page.incident.policy = Pages.policy
        let blocks = try #require(SlackMessage.payload(page)["blocks"]?.arrayValue)
        let withNext = try #require(blocks[2]["fields"]?.arrayValue).compactMap { $0["text"]?.stringValue }
        #expect(withNext.contains("*Source*\nGrafana https://grafana.example.com/alerting/list"), "\(withNext)")
        #expect(!withNext.contains { $0.hasPrefix("*Next*") })
        #expect(SlackMessage.payload(page)["text"]?.stringValue?.contains("\nNext: tier 2 (rnd) is paged at ") == true,
                "a line of its own in the plain text too")
        #expect(blocks[3]["text"]?["text"] == "*Next:* tier 2 (rnd) is paged at 2026-11-23T18:20:00Z unless someone acknowledges first (escalate_after 15m)")
        #expect(TeamsMessage.payload(page).text.contains(#""title":"Next","value":"tier 2 (rnd) is paged at 2026-11-23T18:20:00Z"#),
                "Teams shows it among its facts")
    }

    /// An Alertmanager alert's `generatorURL` (the graph of its rule) is its source.
    @Test func anAlertmanagerAlertsGraphIsItsSource() {
        var page = Pages.page()
        page.incident.incident.annotations["generator_url"] = "http://prometheus:9090/graph?g0.expr=edge_latency_p95"
        #expect(PageText.body(page).contains("\nSource:   http://prometheus:9090/graph?g0.expr=edge_latency_p95\n"))
    }

    /// What the sender said beyond the title, which reached only a webhook's document:
    /// Alertmanager's `description`, other annotations, a PagerDuty event's `custom_details`
    /// fields (black-box round 28). On one line, cut, and not repeating the title.
    @Test func aPageSaysWhatTheSenderSaidBeyondTheTitle() throws {
        var page = Pages.page()
        #expect(PageText.details(page) == nil && !PageText.body(page).contains("Details:"))
        page.incident.alerts[0].annotations = [
            "summary": "p95 latency 1.4s at ICN1 (threshold 800ms)",
            "description": "ICMP & HTTP probes failing for >2m.\nLast error: timeout",
            "hit_ratio": "0.62", "dashboard": "https://grafana.example.com/d/edge",
            "runbook_url": "https://wiki.example.com/r", "generator_url": "http://prometheus/graph",
        ]
        let details = "ICMP & HTTP probes failing for >2m. Last error: timeout; dashboard: https://grafana.example.com/d/edge; hit_ratio: 0.62"
        #expect(PageText.body(page).contains("\nWhat:     p95 latency 1.4s at ICN1 (threshold 800ms)\nDetails:  \(details)\n"))
        #expect(PageText.facts(page).contains(PageText.Fact(name: "Details", value: details, isSentence: true)))
        let text = try #require(SlackMessage.payload(page)["text"]?.stringValue)
        #expect(text.contains("\nDetails: ICMP &amp; HTTP probes failing"))
        // A description that is the title says nothing more; a long one is cut.
        page.incident.alerts[0].annotations = ["description": "p95 latency 1.4s at ICN1 (threshold 800ms)"]
        #expect(PageText.details(page) == nil)
        page.incident.alerts[0].annotations = ["description": String(repeating: "x", count: 2000)]
        #expect(PageText.details(page) == String(repeating: "x", count: 499) + "…")
    }
}

/// The console connector: what a first run shows on the server's standard output.
@Suite struct ConsoleOutputTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var all: [String] = []
        func add(_ text: String) { lock.withLock { all.append(text) } }
        var text: [String] { lock.withLock { all } }
    }

    @Test func aPageSaysPageAndANoticeSaysNotice() async throws {
        let lines = Lines()
        let console = ConsoleConnector(write: { lines.add($0) })
        _ = try await console.deliver(Pages.page(.triggered))
        _ = try await console.deliver(Pages.page(.acknowledged, status: .acknowledged))
        _ = try await console.deliver(Pages.page(.resolved, status: .resolved))
        #expect(lines.text.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
            == ["=== PAGE", "=== NOTICE", "=== NOTICE"], "\(lines.text)")
        #expect(lines.text[1].contains(": ACKNOWLEDGED [CRITICAL]"))
    }
}

/// A measured value as a page shows it.
@Suite struct MeasuredValueTests {
    @Test func asAPersonReadsIt() {
        #expect(PageText.format(0.092622568134057) == "0.0926")
        #expect(PageText.format(1400) == "1400")
        #expect(PageText.format(2.5) == "2.5")
        #expect(PageText.format(100.04) == "100.04", "not 100 against a threshold of 100")
        #expect(PageText.format(15234.7) == "15235", "not 1.523e+04")
        #expect(PageText.format(-0.5) == "-0.5")
        #expect(PageText.format(2.999) == "3")
    }

    /// A storm of one PoP's hosts, titled by the host that turned it critical: the value
    /// shown is that host's, not that of whichever host sorts first.
    @Test func theValueIsThatOfTheAlertThePageIsTitledBy() {
        var page = Pages.page(title: "p95 latency 1000ms at SIN1 edge100")
        func alert(_ host: Int, _ value: Double, _ severity: Severity, summary: String? = nil) -> StoredAlert {
            StoredAlert(fingerprint: String(format: "%03d", (host * 37) % 200), status: .firing, severity: severity,
                        summary: summary ?? "p95 latency \(Int(value))ms at SIN1 edge\(host)", labels: ["instance": "sin1-edge\(host)"],
                        annotations: [:], source: "cdn-monitor", value: value, threshold: 800,
                        firstSeenAt: Pages.t0, lastSeenAt: Pages.t0, receivedCount: 1)
        }
        page.incident.alerts = [alert(94, 994, .warning), alert(100, 1000, .critical), alert(3, 952, .warning)]
        page.incident.alerts.sort { $0.fingerprint < $1.fingerprint }
        #expect(PageText.measured(page) == "1000 (threshold 800)")
        #expect(PageText.body(page).contains("Measured: 1000 (threshold 800)"))
        // Its summary moved on since (a later copy said 1012ms): the critical alert still.
        page.incident.alerts = [alert(94, 994, .warning), alert(100, 1012, .critical, summary: "p95 latency 1012ms at SIN1 edge100")]
        #expect(PageText.measured(page) == "1012 (threshold 800)")
        // A warning host with the title's very summary is not the critical one.
        page.incident.alerts = [alert(100, 1000, .critical, summary: "5xx at SIN1"), alert(7, 12, .warning, summary: "5xx at SIN1")]
        page.incident.incident.title = "5xx at SIN1"
        #expect(PageText.measured(page) == "1000 (threshold 800)")
        // Its alert recovered, the incident still open: said, beside the hosts still firing.
        page.incident.alerts[0].status = .resolved
        #expect(PageText.measured(page) == "1000 (threshold 800), from sin1-edge100, an alert that has recovered")
        page.incident.incident.status = .resolved
        #expect(PageText.measured(page) == "1000 (threshold 800)")
        page.incident.incident.status = .triggered
        // Reopened by a host that sent no value: no value, not the one of the host that
        // fired in the episode before (black-box round 25).
        var before = alert(1, 0.5, .critical, summary: "cache hit ratio 50% on cdg1-edge-01")
        before.status = .resolved
        var titled = alert(2, 0, .critical, summary: "cache hit ratio 40% on cdg1-edge-02")
        titled.value = nil
        titled.lastSeenAt = Pages.t0 + .seconds(600)
        page.incident.alerts = [before, titled]
        page.incident.incident.title = "cache hit ratio 40% on cdg1-edge-02"
        #expect(PageText.measured(page) == nil)
        #expect(!PageText.body(page).contains("Measured:"))
    }

    /// Printable ASCII is returned as it is without looking at its characters; every other
    /// text takes the general path. The two agree on every ASCII character, and anything
    /// outside printable ASCII still reaches the general path.
    @Test func singleLineShortcutAgreesWithTheGeneralPath() {
        for byte in UInt8(0)...0x7F {
            let text = "a\(Character(Unicode.Scalar(byte)))b \(Character(Unicode.Scalar(byte)))"
            #expect(PageText.singleLine(text) == PageText.folded(text), "byte \(byte)")
        }
        #expect(PageText.singleLine("ICN1 edge-01 p95 1.4s > 800ms ~{x}") == "ICN1 edge-01 p95 1.4s > 800ms ~{x}")
        #expect(PageText.singleLine("a\u{7F}b") == "a b")
        #expect(PageText.singleLine("a\u{85}b\u{2028}c") == "a b c")
        #expect(PageText.singleLine("\u{202E}exe.txt, Séoul") == "exe.txt, Séoul")
    }

    /// Which machines are down: the page names the firing alerts' hosts (five, then how
    /// many more); it named only the PoP, and the host took an `alertbridge show`.
    @Test func aPageNamesTheFiringHosts() throws {
        var page = Pages.page()
        let one = page.incident.alerts[0]
        func alerts(_ hosts: [String], recovered: Set<String> = []) -> [StoredAlert] {
            hosts.map { host in
                var a = one
                (a.fingerprint, a.labels) = (host, ["instance": host])
                a.status = recovered.contains(host) ? .resolved : .firing
                return a
            }
        }
        page.incident.alerts = alerts(["icn1-edge-02", "icn1-edge-01", "icn1-edge-03"], recovered: ["icn1-edge-03"])
        #expect(PageText.body(page).contains("\nHosts:    icn1-edge-01, icn1-edge-02\n"))
        #expect(PageText.facts(page).contains(PageText.Fact(name: "Hosts", value: "icn1-edge-01, icn1-edge-02")))
        page.incident.alerts = alerts((1...7).map { "edge-\($0)" })
        #expect(PageText.hosts(page) == "edge-1, edge-2, edge-3, edge-4, edge-5 and 2 more")
        page.incident.alerts = alerts(["h1"])
        page.incident.alerts[0].labels = ["host": "h1"]
        #expect(PageText.hosts(page) == "h1")
        // A line break in a label does not start a line of its own that reads as a field.
        page.incident.alerts[0].labels = ["host": "i1\nX-Evil: 1"]
        #expect(PageText.body(page).contains("\nHosts:    i1 X-Evil: 1\n"))
        page.incident.alerts[0].labels = ["pop": "ICN1"]
        #expect(PageText.hosts(page) == nil && !PageText.body(page).contains("Hosts:"))
    }
}
