import AlertBridgeCore

/// The Block Kit rendering of a page for Slack incoming webhooks (and Mattermost's
/// Slack-compatible ones), a pure function of the page: a header with the severity mark, a
/// section saying why this page was sent, the facts as fields, the acknowledge command and
/// a context line. The top-level `text` is the notification text in Slack and the whole
/// message in Mattermost, which shows `text` and ignores `blocks`.
public enum SlackMessage {
    public static func payload(_ page: PageMessage) -> JSONValue {
        let facts = PageText.facts(page)
        var blocks: [JSONValue] = [
            ["type": "header", "text": ["type": "plain_text", "text": .string(clip(PageText.headline(page), 150)), "emoji": true]],
            ["type": "section", "text": mrkdwn(clip("*\(escape(PageText.lead(page)))*\n\(escape(PageText.singleLine(page.incident.incident.title)))", 3000))],
            ["type": "section", "fields": .array(facts.filter { !$0.isSentence }.prefix(10).map {
                mrkdwn(clip("*\($0.name)*\n\(escape($0.value))", 2000))
            })],
        ]
        for fact in facts where fact.isSentence {
            blocks.append(["type": "section", "text": mrkdwn(clip("*\(fact.name):* \(escape(fact.value))", 3000))])
        }
        if let command = PageText.ackCommand(page) {
            blocks.append(["type": "section", "text": mrkdwn("Acknowledge: `\(command)`")])
        }
        blocks.append(["type": "context", "elements": [mrkdwn(clip(context(page), 3000))]])
        return ["text": .string(clip(fallback(page), 3000)), "blocks": .array(blocks)]
    }

    /// `alertbridge · policy cdn-performance · key EdgeLatencyHigh/ICN1 · <runbook|Runbook>`
    static func context(_ page: PageMessage) -> String {
        let i = page.incident.incident
        var parts = ["alertbridge incident #\(i.id)", "policy \(escape(i.policy))", "key `\(escape(i.dedupKey))`"]
        if !page.delivery.recipients.isEmpty {
            parts.append("for \(escape(page.delivery.recipients.joined(separator: ", ")))")
        }
        if let runbook = PageText.runbookLink(page) {
            // `|` ends a link's URL in mrkdwn: percent-encoded, the link still opens.
            parts.append("<\(escape(runbook).replacingOccurrences(of: "|", with: "%7C"))|Runbook>")
        } else if let runbook = PageText.runbook(page) {
            parts.append("runbook: \(escape(runbook))")
        }
        return parts.joined(separator: " · ")
    }

    /// The message as plain lines: what Mattermost shows, and Slack's notification text.
    static func fallback(_ page: PageMessage) -> String {
        var lines = [escape(PageText.headline(page)), escape(PageText.lead(page))]
        let facts = PageText.facts(page)
        func line(_ fact: PageText.Fact) -> String { "\(fact.name): \(escape(fact.value))" }
        lines.append(facts.filter { !$0.isSentence }.map(line).joined(separator: " · "))
        lines += facts.filter(\.isSentence).map(line)
        if let runbook = PageText.runbook(page) { lines.append("Runbook: \(escape(runbook))") }
        if let command = PageText.ackCommand(page) { lines.append("Acknowledge: `\(command)`") }
        return lines.joined(separator: "\n")
    }

    static func mrkdwn(_ text: String) -> JSONValue { ["type": "mrkdwn", "text": .string(text)] }

    /// Slack's mrkdwn treats `&`, `<` and `>` as markup; alert text must not.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Slack rejects a block whose text is over its limit; cut it instead, not inside an
    /// escape (half of `&amp;` would show as text).
    static func clip(_ text: String, _ limit: Int) -> String {
        guard text.count > limit else { return text }
        var cut = String(text.prefix(limit - 1))
        if let amp = cut.lastIndex(of: "&"), !cut[amp...].contains(";") { cut = String(cut[..<amp]) }
        return cut + "…"
    }
}
