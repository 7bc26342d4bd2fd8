import AlertBridgeCore
import AlertBridgeStore
import Foundation

/// The plain-text wording of a page, shared by every connector that sends text.
///
/// Pure: a function of the page alone, so its output is tested directly.
public enum PageText {
    public static let utc = TimeZone(identifier: "UTC")!

    /// `[CRITICAL] ICN1 cdn-edge: p95 latency 1.4s at ICN1 (#42)`, prefixed by what happened.
    public static func subject(_ page: PageMessage) -> String {
        let i = page.incident.incident
        // On one line, and short: a label's line break reached chat titles and Slack's
        // notification text, and a 1 KB `service` pushed the summary out of them (black-box
        // round 28).
        let place = ["pop", "service"].compactMap { i.labels[$0].map { clipped(singleLine($0), to: 48) } }
        let prefix: String
        switch page.delivery.event {
        case .acknowledged: prefix = "ACKNOWLEDGED "
        // The subject and the chat title are all a sleepy reader sees: an auto-resolve is
        // not a recovery (black-box round 28).
        case .resolved where closedWithoutRecovery(page): prefix = "CLOSED, NO RECOVERY "
        case .resolved: prefix = "RESOLVED "
        case .escalationEnded: prefix = "UNACKNOWLEDGED "
        case .escalated, .manual: prefix = "ESCALATED "
        // Tier 1 again after every tier was paged: not a tier that just missed its page.
        case .repeated: prefix = "REPEATED "
        // Someone had it: the person paged again must see that the acknowledgement lapsed,
        // not that a tier missed its page (black-box round 16).
        case .ackTimeout: prefix = "ACK TIMED OUT "
        case .severityRaised: prefix = "RAISED "
        case .reopened: prefix = "REOPENED "
        case .triggered: prefix = ""
        }
        let whereText = place.isEmpty ? "" : place.joined(separator: " ") + ": "
        return "\(prefix)[\(i.severity.rawValue.uppercased())] \(whereText)\(singleLine(i.title)) (#\(i.id))"
    }

    /// A sender's text (a title, a label, a runbook, a key) on one line of a page: an
    /// Alertmanager alert without `summary` is titled by its `description`, often several
    /// lines, which put a line break in a webhook's `subject` and broke the email's `What:`
    /// line (black-box round 23); a label holding `\r\nTo: …` or `\nAcknowledge: …` wrote a
    /// line that reads as a field of the page, and escape sequences reached the console
    /// (black-box round 24). Each run of line breaks, tabs and other control characters
    /// becomes one space; bidirectional overrides (which reverse what follows) are dropped.
    static func singleLine(_ text: String) -> String {
        // Printable ASCII, nearly every title, label and key, has nothing to change: checked
        // on its bytes. Breaking the text into characters and looking up each scalar's
        // category cost about 25,000 instructions per call, nine calls per page.
        text.utf8.allSatisfy { (0x20...0x7E).contains($0) } ? text : folded(text)
    }

    /// ``singleLine(_:)`` of any text.
    static func folded(_ text: String) -> String {
        func breaks(_ c: Character) -> Bool {
            c.isNewline || c.unicodeScalars.contains { $0.properties.generalCategory == .control }
        }
        func override(_ c: Character) -> Bool {
            c.unicodeScalars.contains(where: \.isDirectionOverride)
        }
        guard text.contains(where: { breaks($0) || override($0) }) else { return text }
        return text.filter { !override($0) }.split(omittingEmptySubsequences: true, whereSeparator: breaks)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// `text`, cut to `limit` characters with `…`.
    static func clipped(_ text: String, to limit: Int) -> String {
        text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
    }

    /// What is wrong, where, how bad, since when, and how to acknowledge it.
    public static func body(_ page: PageMessage) -> String {
        let i = page.incident.incident
        let d = page.delivery
        var lines: [String] = []
        switch d.event {
        case .acknowledged:
            // With the note, which says what whoever is on it knows so far.
            // From the timeline too: a notice held up past its ack_timeout finds the incident
            // no longer acknowledged, and the name cleared.
            // A take-over (tier 2, called in by hand, took it from tier 1) says from whom,
            // apart from the note (black-box round 35: alertbridge's words read as the note).
            let ack = page.incident.timeline.last { $0.kind == .acknowledged }
            let who = i.acknowledgedBy ?? ack?.by ?? "someone"
            let (takeOver, note) = IncidentAction.acknowledgement(ack?.detail)
            lines.append("Incident #\(i.id) was acknowledged by \(who)\(takeOver.map { " (\($0))" } ?? "")"
                         + (note.map { ": \(singleLine($0))" } ?? "."))
        case .resolved where d.step <= i.escalation.episodeStart:
            // Sent after the incident opened again (a webhook gets every notice; email and
            // chat drop it): what was resolved, by whom and when, and that it is open again. It
            // read "is resolved" above "Status: triggered" (black-box round 27).
            let entry = page.incident.timeline.last { $0.kind == .resolved && $0.at <= d.createdAt }
            lines.append("Incident #\(i.id) was resolved\(entry?.by.map { " (by \($0))" } ?? "")\(entry?.detail.map { ": \(singleLine($0))" } ?? "")"
                         + " at \(time(entry?.at ?? d.createdAt, in: page.timeZone)); it has opened again since (now \(i.status.rawValue), tier \(i.tier)).")
        case .resolved:
            if let closing = autoResolve(page) {
                lines.append("Incident #\(i.id) was closed by alertbridge, not by a recovery: \(closing).")
            } else {
                // An operator's note says what fixed it, as an acknowledgement's says who is on it.
                // On one line: its line breaks read as fields of the page in email, and chat
                // cards showed only its first line (black-box round 28).
                var note = i.escalation.resolution == .operator
                    ? page.incident.timeline.last { $0.kind == .resolved }?.detail.map(singleLine) : nil
                // Kept open after its recovery (`keep_open_for`): the notice comes minutes after
                // the recovery, and must not read as one that happened just now.
                if i.escalation.resolution == .alerts, let at = i.resolvedAt, at < d.createdAt {
                    note = "every alert recovered at \(time(at, in: page.timeZone)), and none fired again until "
                        + "\(time(d.createdAt, in: page.timeZone)) (keep_open_for)"
                }
                lines.append("Incident #\(i.id) is resolved\(i.resolvedBy.map { " (by \($0))" } ?? "")\(note.map { ": \($0)" } ?? ".")")
            }
        case .escalationEnded:
            // Someone had acknowledged it and the acknowledgement timed out: "nobody
            // acknowledged" would read as if the earlier on-call never answered.
            let opening = i.escalation.acknowledgedThrough == nil
                ? "Nobody acknowledged incident #\(i.id): every tier was paged"
                : "Nobody holds incident #\(i.id): its acknowledgement timed out (ack_timeout), every tier was paged again"
            lines.append(opening + " and its escalation has ended, "
                         + "so nobody will be paged for it again. It is still open: someone must take it.")
        case .severityRaised where i.status == .acknowledged && !isOutdated(page):
            // Someone has it: the tier learns it got worse, not that it needs them.
            let at = i.acknowledgedAt.map { " (acknowledged at \(time($0, in: page.timeZone)))" } ?? ""
            lines.append("Incident #\(i.id) rose to \(i.severity.rawValue) while \(i.acknowledgedBy ?? "someone") has it\(at).")
        case .reopened where d.tier != i.tier && !isOutdated(page):
            // A tier that heard it resolve, told it is back; the incident needs another tier
            // now, which "needs tier 2" to R&D would have contradicted.
            let paged = page.incident.policy?.tier(i.tier).map { "tier \(i.tier) (\($0.name))" } ?? "tier \(i.tier)"
            lines.append("Incident #\(i.id) is open again: \(reason(page)), and \(paged) is paged.")
        default:
            lines.append("Incident #\(i.id) needs tier \(d.tier) (\(d.tierName)): \(reason(page)).")
            if let late = movedOn(page) { lines.append("Sent late: \(late).") }
        }
        lines.append("")
        lines.append("What:     \(singleLine(i.title))")
        if let details = details(page) { lines.append("Details:  \(details)") }
        let place = Self.place(page).map { "\($0.0) \(singleLine($0.1))" }
        if !place.isEmpty { lines.append("Where:    \(place.joined(separator: ", "))") }
        if let hosts = hosts(page) { lines.append("Hosts:    \(hosts)") }
        if let measured = measured(page) { lines.append("Measured: \(measured)") }
        lines.append("Severity: \(i.severity.rawValue)")
        lines.append("Since:    \(time(since(page), in: page.timeZone)) (\(alertTally(page)))")
        lines.append("Status:   \(i.status.rawValue), tier \(i.tier), policy \(i.policy)")
        if let next = next(page) { lines.append("Next:     \(next)") }
        if let runbook = runbook(page) { lines.append("Runbook:  \(singleLine(runbook))") }
        if let source = sourceView(page) { lines.append("Source:   \(singleLine(source))") }
        lines.append("Key:      \(singleLine(i.dedupKey))")
        if i.status == .triggered {
            lines.append("")
            lines.append("Acknowledge: alertbridge ack \(i.id)")
        }
        return lines.joined(separator: "\n")
    }

    /// A tier page delivered after the incident moved past it (an outage held it while the
    /// next step was taken, or a webhook gets it after someone acknowledged) says so:
    /// "needs tier 2" is then history, not the state of the incident.
    static func movedOn(_ page: PageMessage) -> String? {
        let i = page.incident.incident
        guard !page.delivery.event.isNotice, isOutdated(page) else { return nil }
        let now = switch i.status {
        case .acknowledged: "acknowledged by \(i.acknowledgedBy ?? "someone")"
        case .resolved: "resolved"
        case .triggered where i.escalation.ended: "tier \(i.tier), and its escalation has ended"
        // The same tier paged again since (a repeat, an ack timeout): not "nothing moved".
        case .triggered where i.tier == page.delivery.tier: "tier \(i.tier), paged again since"
        case .triggered: "tier \(i.tier)"
        }
        return "decided at \(time(page.delivery.createdAt, in: page.timeZone)); the incident has moved on since (now \(now))"
    }

    /// Whether the incident moved past this page by the time it is sent: a later step was
    /// taken, or, for a tier page, its escalation ended (the last tier's time ran out: no
    /// step, so after a mail outage tier 2 read its page as current, beside the notice that
    /// escalation had ended; black-box round 25) or someone acknowledged or resolved it.
    static func isOutdated(_ page: PageMessage) -> Bool {
        let i = page.incident.incident
        if i.escalation.step > page.delivery.step { return true }
        if !page.delivery.event.isNotice, i.status == .triggered, i.escalation.ended { return true }
        guard !page.delivery.event.isNotice, i.status != .triggered else { return false }
        // `alertbridge escalate` of an acknowledged incident: the call-in was decided after
        // the acknowledgement, on purpose, and is not history (black-box round 23: tier 2
        // read "the incident has moved on since").
        if i.status == .acknowledged, let at = i.acknowledgedAt, at < page.delivery.createdAt { return false }
        return true
    }

    /// When the problem started as its monitor saw it: the earliest `startsAt` of the firing
    /// alerts (Alertmanager's is when Prometheus first saw it fire, often minutes before it
    /// reached alertbridge; a reopen's is the new episode's). With none firing (a resolve
    /// notice), of the alerts seen since the episode opened: the notice said the time the
    /// incident opened, later than the pages before it in its thread (black-box round 28).
    /// Else when the incident opened. A `startsAt` after the page was decided is a sender's
    /// clock running ahead, not used.
    static func since(_ page: PageMessage) -> Timestamp {
        let decided = page.delivery.createdAt
        let i = page.incident
        func earliest(_ alerts: [StoredAlert]) -> Timestamp? { alerts.compactMap(\.startsAt).filter { $0 <= decided }.min() }
        if let firing = earliest(i.alerts.filter { $0.status == .firing }) { return firing }
        let opened = i.timeline.last { $0.kind == .reopened && $0.at <= decided }?.at ?? i.incident.createdAt
        return earliest(i.alerts.filter { $0.lastSeenAt >= opened }) ?? i.incident.createdAt
    }

    /// `2026-11-30T16:00:21.005Z`, or in another zone (`time_zone:`) its local time first:
    /// `2026-12-01 01:00:21 Asia/Seoul (2026-11-30T16:00:21.005Z)`. The NOC reads its own
    /// clock at 3 a.m.; UTC stays beside it for the logs and the other teams.
    static func time(_ timestamp: Timestamp, in zone: TimeZone) -> String {
        // UTC, under any of its names, or a zone whose clock is UTC's all year.
        guard zone.secondsFromGMT() != 0 || zone.nextDaylightSavingTimeTransition != nil else { return "\(timestamp)" }
        // The wall clock is UTC's formatting of the instant moved by the zone's offset then.
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(timestamp.milliseconds) / 1000))
        let wall = Timestamp(milliseconds: (timestamp.milliseconds / 1000 + Int64(offset)) * 1000)
        return "\(RFC3339.format(wall).prefix(19).replacingOccurrences(of: "T", with: " ")) \(zone.identifier) (\(timestamp))"
    }

    /// What the policy does next if nobody acts, and when: `tier 2 (R&D) is paged at
    /// 2026-11-30T18:50:00Z unless someone acknowledges first (escalate_after 10m, window
    /// peak 18:00-23:00 Asia/Seoul)`. The person paged at 3 a.m. knows how long they have
    /// and who is next; `nil` when no timer runs, or when the incident moved past this page
    /// (a later step, an acknowledgement) by the time it is sent.
    static func next(_ page: PageMessage) -> String? {
        // A page handed on after an acknowledgement (a webhook hears every event) is not
        // the current state: "needs tier 1" beside "tier 1 is paged again" contradicts itself.
        guard !isOutdated(page), let policy = page.incident.policy else { return nil }
        let i = page.incident.incident
        guard let step = EscalationPlanner.nextStep(i, policy: policy, startedAt: page.startedAt) else {
            // With no ack_timeout an acknowledgement ends the paging for good: the rest of
            // the rota, reading the notice, must know that nobody else will be woken.
            guard i.status == .acknowledged, policy.ackTimeout == nil else { return nil }
            let quiet = policy.autoResolveAfter.map {
                ", or no alert arrives for \(DurationText.format($0)) (auto_resolve_after; the last came at \(time(i.lastAlertAt, in: page.timeZone)))"
            } ?? ""
            return "nobody is paged while it stays acknowledged (the policy has no ack_timeout); "
                + "it stays open until its alerts recover or someone resolves it\(quiet)"
        }
        return next(step, in: page.timeZone)
    }

    /// The wording of a next step, shared by pages and the API (`show`'s `next step`).
    public static func next(_ step: EscalationPlanner.NextStep, in zone: TimeZone) -> String {
        let at = time(step.at, in: zone)
        let after = DurationText.format(step.timer)
        var timer = "escalate_after \(after)"
        // With its hours: a page at 17:55 that says "at 18:00 (escalate_after 10m)" only adds
        // up once the reader sees the window opens at 18:00.
        if let window = step.window { timer += ", window \(window.name) \(window.when)" }
        var text = nextAction(step, at: at, timer: timer, after: after, zone: zone)
        if let until = step.silencedUntil {
            text += "; but a silence holds every alert of it until \(time(until, in: zone)), and nobody is paged before then"
        }
        guard !step.heldBy.isEmpty else { return text }
        let (which, inhibit, are) = inhibitors(step.heldBy)
        if case .awaitsInhibitor = step.action {
            // What it waited for has come (black-box round 30: "paged at … unless one opens; but while 6 is open, that waits").
            return "nobody is paged: \(which), which \(inhibit) this one, opened during its inhibit wait (\(after)), so from \(at), "
                + "when the wait ends, it is held while \(which) \(are) open"
        }
        return text + "; but while \(which), which \(inhibit) this one, \(are) open, that waits, and alertbridge looks again every minute"
    }

    /// `incident 16`, `incident 16 and incident 17`, with the verbs that agree with them.
    private static func inhibitors(_ ids: [Int64]) -> (which: String, inhibit: String, are: String) {
        let names = ids.map { "incident \($0)" }
        let which = names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
        return ids.count == 1 ? (which, "inhibits", "is") : (which, "inhibit", "are")
    }

    private static func nextAction(_ step: EscalationPlanner.NextStep, at: String, timer: String, after: String, zone: TimeZone) -> String {
        switch step.action {
        case .page(let tier, let name):
            return "tier \(tier) (\(name)) is paged at \(at) unless someone acknowledges first (\(timer))"
        case .repeatPolicy(let tier1, let cycle, let of):
            return "the policy repeats from tier 1 (\(tier1)) at \(at) unless someone acknowledges first "
                + "(\(timer); repeat \(cycle) of \(of))"
        case .end:
            return "this is the last tier: if nobody acknowledges by \(at), escalation ends and nobody else is paged (\(timer))"
        case .ackTimeout(let tier1):
            return "tier 1 (\(tier1)) is paged\(step.firstPage ? "" : " again") at \(at) unless it is resolved first (ack_timeout \(after))"
        case .waitsForInhibitor(let ids):
            let (which, inhibit, are) = inhibitors(ids)
            let resolves = ids.count == 1 ? "it resolves" : "they resolve"
            return "nothing more is paged while \(which), which \(inhibit) this one, \(are) open, nor in the minute after "
                + "\(resolves) (the timeline says since when); alertbridge looks again at \(at)"
        case .awaitsInhibitor(let tier1):
            return "tier 1 (\(tier1)) is paged at \(at) unless an incident that inhibits this one opens first, or someone "
                + "acknowledges (inhibit wait \(after))"
        case .inhibitorsResolved(let tier1, let ids):
            let (which, _, _) = inhibitors(ids)
            let (have, it) = ids.count == 1 ? ("has", "it") : ("have", "them")
            return "tier 1 (\(tier1)) is paged at \(at) if this one still fires then: \(which), which inhibited it, \(have) resolved, "
                + "and this one gets a minute after \(it) to recover too"
        case .keptOpen(let recoveredAt):
            // Kept open across a start of alertbridge: its end waits out the start's grace.
            let restart = step.at > recoveredAt + step.timer
                ? ", and, as alertbridge started since, a minute after its start for alerts that could not reach it" : ""
            return "it resolves at \(at) unless an alert fires again first: all its alerts recovered at "
                + "\(time(recoveredAt, in: zone)) and its rule keeps it open \(after) (keep_open_for)\(restart); nobody is paged meanwhile"
        case .waitsForAlert:
            return "nobody is paged: no alert came for \(after) (auto_resolve_after) while alertbridge was stopped, so it "
                + "waits for its alert to be sent again (then the overdue step is taken at once), and resolves at \(at) if none is"
        }
    }

    /// Which machines: the `instance` (else `host`) label of the firing alerts (of all
    /// alerts once resolved), five at most (`edge-a, edge-b, edge-c, edge-d, edge-e and 395
    /// more`); `nil` when no alert names one. The incident's labels are its first alert's,
    /// so without this the person paged could not tell which host without `alertbridge
    /// show` (black-box round 23).
    static func hosts(_ page: PageMessage) -> String? {
        let names = Set(describedAlerts(page).compactMap { ($0.labels["instance"] ?? $0.labels["host"]).map(singleLine) }).sorted()
        return names.isEmpty ? nil : fiveAtMost(names)
    }

    /// The alerts a page describes: the firing ones, or all once the incident is resolved.
    static func describedAlerts(_ page: PageMessage) -> [StoredAlert] {
        let resolved = page.incident.incident.status == .resolved
        return page.incident.alerts.filter { resolved || $0.status == .firing }
    }

    /// `a, b, c, d, e and 395 more`.
    static func fiveAtMost(_ names: [String]) -> String {
        let shown = names.prefix(5).joined(separator: ", ")
        return names.count > 5 ? "\(shown) and \(names.count - 5) more" : shown
    }

    /// `1 alert, firing` or `3 alerts (60 copies received), 2 firing`: the incident's alerts
    /// (``AlertCount``) and how many of them still fire. An auto-resolved incident's alerts
    /// did not recover; nobody knows whether they fire.
    static func alertTally(_ page: PageMessage) -> String {
        let i = page.incident.incident
        let count = AlertCount(distinct: page.incident.alerts.count, firing: i.firingCount, copies: i.alertCount)
        let (held, alerts) = (count.held, count.text)
        if i.status == .resolved, autoResolve(page) != nil { return "\(alerts), no recovery received" }
        // Resolved by hand, whatever its alerts did: "0 firing" read as a recovery when its
        // sender still fired (black-box round 28; the CLI warns of that at the resolve).
        if i.status == .resolved, i.escalation.resolution == .operator { return "\(alerts), resolved by hand" }
        if i.firingCount > 0 { return held == 1 ? "\(alerts), firing" : "\(alerts), \(i.firingCount) firing" }
        // Open with nothing firing: a recovery that could not close it (an Alertmanager
        // webhook cut by `max_alerts`). "0 firing" alone read as a page sent by mistake
        // (black-box round 24).
        if i.status.isOpen, let recovery = i.escalation.recovery {
            return "\(alerts), all recovered at \(time(recovery.at, in: page.timeZone)); kept open for a re-fire (keep_open_for)"
        }
        if i.status.isOpen { return "\(alerts), none firing, yet not resolved (its timeline says why)" }
        return held == 1 ? "\(alerts), no longer firing" : "\(alerts), 0 firing"
    }

    /// A resolve notice of an auto-resolve (`auto_resolve_after`), of the episode it closed.
    static func closedWithoutRecovery(_ page: PageMessage) -> Bool {
        page.delivery.event == .resolved && page.delivery.step > page.incident.incident.escalation.episodeStart
            && autoResolve(page) != nil
    }

    /// What the auto-resolve that closed the incident said (`no new alert for 15m
    /// (auto_resolve_after)`), or `nil` when something else resolved it.
    static func autoResolve(_ page: PageMessage) -> String? {
        guard page.incident.incident.escalation.resolution == .autoResolve else { return nil }
        return page.incident.timeline.last(where: { $0.kind == .resolved })?.detail
    }

    /// The timeline's entry of `kind` written with the page's decision (at its time).
    static func entry(_ page: PageMessage, _ kind: TimelineEntry.Kind, where matches: (TimelineEntry) -> Bool) -> TimelineEntry? {
        page.incident.timeline.last { $0.kind == kind && $0.at == page.delivery.createdAt && matches($0) }
    }

    /// Why a page calls its tier.
    static func reason(_ page: PageMessage) -> String {
        let i = page.incident.incident
        switch page.delivery.event {
        case .triggered where page.delivery.createdAt.milliseconds - i.createdAt.milliseconds >= 1000:
            // Decided after the incident opened: something held it until now. The engineer
            // wants to know it is not a fresh problem (a maintenance window just ended), and
            // what held it, as its timeline says at the release (black-box round 28).
            let opened = "not paged until now, since it opened at \(time(i.createdAt, in: page.timeZone))"
            // The release entry reads `… is still open: paging` (and a late note after it).
            let release = entry(page, .escalated, where: { $0.by == EscalationPlanner.engine })?.detail
            if release?.hasPrefix(EscalationPlanner.waitFoundNothing) == true {
                // Its inhibit rule's wait: a new incident, as far as whoever is paged cares.
                let waited = DurationText.formatSeconds(.milliseconds(page.delivery.createdAt.milliseconds - i.createdAt.milliseconds))
                return "new incident (paged after waiting \(waited) for an incident that would inhibit every alert of it: none opened)"
            }
            if let release, let paging = release.range(of: ": paging") {
                return opened + ": " + release[..<paging.lowerBound]
            }
            return opened + " (a silence, an inhibition or a missing policy held it; its timeline says which)"
        case .triggered: return "new incident"
        case .reopened: return "it fired again soon after resolving"
        case .escalated: return "the previous tier did not acknowledge in time"
        case .severityRaised: return "its severity rose to \(i.severity.rawValue)"
        case .repeated: return "no tier acknowledged; the policy repeats"
        case .ackTimeout:
            // Who had it: the person paged again calls them first (black-box round 23).
            guard let ack = page.incident.timeline.last(where: { $0.kind == .acknowledged && $0.at <= page.delivery.createdAt })
            else { return "acknowledged but not resolved in time" }
            // With the note, which says what they knew (black-box round 28), and whom they
            // took it over from.
            let (takeOver, note) = IncidentAction.acknowledgement(ack.detail)
            let said = [takeOver, note.map { "\"\(clipped(singleLine($0), to: 200))\"" }].compactMap { $0 }
            let aside = said.isEmpty ? "" : " (\(said.joined(separator: "; ")))"
            return "acknowledged by \(ack.by ?? "someone") at \(time(ack.at, in: page.timeZone))\(aside) but not resolved in time"
        case .manual:
            // With the operator's note, after the tier its entry names: why they called this tier.
            let escalation = entry(page, .escalated, where: { $0.by != EscalationPlanner.engine })
            let note = escalation?.detail.flatMap { detail in
                detail.range(of: "): ").map { " (\"\(clipped(singleLine(String(detail[$0.upperBound...])), to: 200))\")" }
            } ?? ""
            // Called in while someone has it: who, so the tier calls them first (black-box
            // round 35: only the Status line said acknowledged, and not by whom).
            let i = page.incident.incident
            let holder = i.status == .acknowledged
                ? "; \(i.acknowledgedBy ?? "someone") has it\(i.acknowledgedAt.map { " (acknowledged at \(time($0, in: page.timeZone)))" } ?? "")"
                : ""
            return "escalated by hand\(escalation?.by.map { " by \($0)" } ?? "")\(note)\(holder)"
        case .acknowledged: return "acknowledged"
        case .resolved: return "resolved"
        case .escalationEnded: return "nobody holds it; escalation ended"
        }
    }

    /// As a person reads it, not as a parser would: whole from 1,000 on (`15235`), two
    /// decimals from 1 (`100.04`, `1.4`), three significant digits below (`0.0926`, not
    /// `0.092622568134057`).
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        if value == value.rounded() || abs(value) >= 1000, abs(value) < 1e15 { return String(Int64(value.rounded())) }
        guard abs(value) >= 1 else { return String(format: "%.3g", value) }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }  // 2.999 rounds to "3.00"
        return text
    }
}
