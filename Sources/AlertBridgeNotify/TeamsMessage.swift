import AlertBridgeCore

/// The Adaptive Card (schema 1.4) of a page for a Microsoft Teams Workflows webhook, a
/// pure function of the page.
public enum TeamsMessage {
    public static func payload(_ page: PageMessage) -> JSONValue {
        let i = page.incident.incident
        var body: [JSONValue] = [
            ["type": "TextBlock", "text": .string(PageText.headline(page)), "size": "Large", "weight": "Bolder",
             "wrap": true, "color": .string(color(page))],
            ["type": "TextBlock", "text": .string(PageText.lead(page)), "wrap": true],
            ["type": "TextBlock", "text": .string(PageText.singleLine(i.title)), "wrap": true, "isSubtle": true],
            ["type": "FactSet", "facts": .array(PageText.facts(page).map { ["title": .string($0.name), "value": .string($0.value)] })],
        ]
        if let command = PageText.ackCommand(page) {
            body.append(["type": "TextBlock", "text": .string("Acknowledge: `\(command)`"), "wrap": true])
        }
        if PageText.runbookLink(page) == nil, let runbook = PageText.runbook(page) {
            body.append(["type": "TextBlock", "text": .string("Runbook: \(runbook)"), "wrap": true])
        }
        var context = "alertbridge incident #\(i.id) · policy \(i.policy) · key \(i.dedupKey)"
        if !page.delivery.recipients.isEmpty { context += " · for \(page.delivery.recipients.joined(separator: ", "))" }
        body.append(["type": "TextBlock", "text": .string(context), "wrap": true, "size": "Small", "isSubtle": true])
        var card: JSONValue = [
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": ["width": "Full"],
            "body": .array(body),
        ]
        if let runbook = PageText.runbookLink(page), case .object(var object) = card {
            object["actions"] = [["type": "Action.OpenUrl", "title": "Runbook", "url": .string(runbook)]]
            card = .object(object)
        }
        return [
            "type": "message",
            "summary": .string(PageText.subject(page)),
            "attachments": [["contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card]],
        ]
    }

    /// The title's colour: attention (red) for critical and error, warning for warnings,
    /// good (green) once resolved, the default once closed without a recovery.
    static func color(_ page: PageMessage) -> String {
        switch page.delivery.event {
        case .resolved where PageText.closedWithoutRecovery(page): return "Default"
        case .resolved: return "Good"
        case .acknowledged: return "Accent"
        default: break
        }
        switch page.incident.incident.severity {
        case .critical, .error: return "Attention"
        case .warning: return "Warning"
        case .info: return "Accent"
        }
    }
}
