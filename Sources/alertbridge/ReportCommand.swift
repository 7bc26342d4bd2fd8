import AlertBridgeCore
import ArgumentParser
import Foundation

/// `alertbridge report`: how the incidents of a window went, against their SLAs.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarize the incidents created in a window: counts, time to acknowledge and resolve, SLA breaches.",
        discussion: serverEnvironment)

    @Option(help: "Where the window starts: back from now (30m, 12h, 7d; at most 365d), or a time (2026-11-23T00:00:00+09:00).")
    var since: String = "7d"

    @Option(help: "Where the window ends (not included): a time, or back from now (1d). Now unless told.")
    var until: String?

    @Option(name: .customLong("group-by"), help: "Also count the incidents by this label's value, such as pop or region (repeatable).")
    var groupBy: [String] = []

    @Flag(help: "Print the report as JSON.")
    var json = false

    /// How many values of a label the table shows; `--json` has them all.
    static let valuesShown = 10

    /// A time, or a duration back from `now`.
    static func moment(_ text: String, now: Timestamp) -> Timestamp? {
        if let time = RFC3339.parse(text) { return time }
        guard let back = DurationText.parse(text), back >= .zero, back <= DurationText.longest else { return nil }
        return now - back
    }

    /// The window `[from, to)`, or why it is not one.
    func window(now: Timestamp) throws -> (from: Timestamp, to: Timestamp) {
        guard let from = Self.moment(since, now: now), DurationText.parse(since).map({ $0 > .zero }) ?? true else {
            throw ValidationError("--since must be a duration above zero and at most 365d (12h, 7d) or an RFC 3339 time")
        }
        guard let to = until.map({ Self.moment($0, now: now) }) ?? now else {
            throw ValidationError("--until must be an RFC 3339 time or a duration back from now (1d)")
        }
        guard from < to, to.milliseconds - from.milliseconds <= DurationText.longest.milliseconds else {
            throw ValidationError("the window must start before it ends (--since before --until) and span at most 365d")
        }
        return (from, to)
    }

    func validate() throws {
        _ = try window(now: SystemClock().now())
        // Any name a stored label can have: Alertmanager's may be UTF-8 (`service.name`).
        for label in groupBy where label.isEmpty || label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ValidationError("--group-by needs a label name (not empty, no control characters)")
        }
    }

    func run() async throws {
        let (from, to) = try window(now: SystemClock().now())
        let query = "status=all&limit=\(listMaximum)&since=\(RFC3339.format(from))&until=\(RFC3339.format(to))"
        let data = try await request { try await $0.send("GET", "/api/v1/incidents?\(query)") }
        let list = try decodeAnswer(IncidentList.self, from: data)
        let incidents = list.incidents
        // The window reaches back past what `retention:` keeps: the counts are of what is left.
        // Not a window as long as the retention (`--since 2d` with `retention: 2d`), whose
        // start and the server's cutoff are taken a moment apart (black-box round 42).
        let cutoff = list.retention_cutoff.flatMap(RFC3339.parse).flatMap { $0 > from + .seconds(60) ? $0 : nil }
        // The window is filtered here too: a server older than `since` lists everything.
        let readable = incidents.compactMap(\.reportItem)
        let unreadable = incidents.count - readable.count
        let labels = groupBy.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }  // each once
        let report = IncidentReport(readable.filter { $0.createdAt >= from && $0.createdAt < to }, byLabels: labels)
        let truncated = incidents.count == listMaximum
        if json { return printRaw(try Self.json(report, from: from, to: to, truncated: truncated, unreadable: unreadable, deletedBefore: cutoff)) }
        let span = until == nil ? "since \(RFC3339.format(from)) (\(DurationText.formatSeconds(.milliseconds(to.milliseconds - from.milliseconds))))"
            : "from \(RFC3339.format(from)) to \(RFC3339.format(to))"
        print("incidents \(span): \(report.total)"
              + " (\(report.open) open, \(report.resolved) resolved)"
              + (truncated ? "; the newest \(listMaximum) read, there may be more" : "")
              + (unreadable > 0 ? "; \(unreadable) left out (fields this version cannot read)" : "")
              + (cutoff.map { "; incidents resolved before \(RFC3339.format($0)) are deleted (retention), so those still open "
                  + "count and those resolved before then do not" } ?? ""))
        guard report.total > 0 else { return }
        printTable(nil, [
            ["by severity", report.bySeverity.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")],
            ["by policy", report.byPolicy.map { "\($0.0) \($0.1)" }.joined(separator: ", ")],
        ] + report.byLabel.map { label, counts in
            // A misspelt label (`pops`) puts every incident under (none): say so.
            guard counts.contains(where: { $0.0 != IncidentReport.noValue }) else {
                return ["by \(label)", "\(IncidentReport.noValue) \(report.total): no incident in the window has a \"\(label)\" label"]
            }
            let more = counts.count > Self.valuesShown ? ", +\(counts.count - Self.valuesShown) more" : ""
            return ["by \(label)", counts.prefix(Self.valuesShown).map { "\($0.0) \($0.1)" }.joined(separator: ", ") + more]
        } + [
            ["acknowledged", Self.describe(report.timeToAcknowledge, of: report.paged)],
            ["resolved", Self.describe(report.timeToResolve, of: report.paged)
                + (report.autoResolvedUntimed > 0 ? "; \(report.autoResolvedUntimed) auto-resolved, not timed" : "")],
            ["resolved by", Self.describe(resolvedBy: report)],
            ["SLA breaches", "acknowledge \(report.acknowledgeSLABreaches)\(Self.named(report.acknowledgeSLABreached)), "
                + "resolve \(report.resolveSLABreaches)\(Self.named(report.resolveSLABreached))"],
        ])
    }

    /// `1 of 2 paged, after p50 4m, ...`: timed from the first page, so only paged incidents count.
    static func describe(_ spread: IncidentReport.Spread?, of paged: Int) -> String {
        guard let spread else { return "0 of \(paged) paged" }
        // Whole seconds for people (`--json` keeps the milliseconds); under half a second
        // says so, where a 16 ms answer read as `1s`.
        func seconds(_ d: Duration) -> String { d < .milliseconds(500) ? "<1s" : DurationText.formatSeconds(d) }
        return "\(spread.count) of \(paged) paged, after p50 \(seconds(spread.median)), "
            + "p90 \(seconds(spread.p90)), max \(seconds(spread.max))"
    }

    /// `alerts 6, operator 1, auto_resolve_after 10`: what closed the window's resolved incidents.
    static func describe(resolvedBy report: IncidentReport) -> String {
        let counts = report.resolvedBy.map { "\($0.0.reportName) \($0.1)" }
            + (report.unrecordedResolutions > 0 ? ["not recorded \(report.unrecordedResolutions)"] : [])
        return counts.joined(separator: ", ")
    }

    /// ` (#4, #5, #9)`: which incidents, the first ten.
    static func named(_ ids: [Int64]) -> String {
        guard !ids.isEmpty else { return "" }
        let more = ids.count > valuesShown ? ", +\(ids.count - valuesShown) more" : ""
        return " (" + ids.prefix(valuesShown).map { "#\($0)" }.joined(separator: ", ") + more + ")"
    }

    static func json(_ report: IncidentReport, from: Timestamp, to: Timestamp, truncated: Bool, unreadable: Int,
                     deletedBefore: Timestamp? = nil) throws -> Data {
        func spread(_ s: IncidentReport.Spread?) -> [String: Any] {
            guard let s else { return ["count": 0] }
            return ["count": s.count, "p50_seconds": Double(s.median.milliseconds) / 1000,
                    "p90_seconds": Double(s.p90.milliseconds) / 1000, "max_seconds": Double(s.max.milliseconds) / 1000]
        }
        let object: [String: Any] = [
            "since": RFC3339.format(from), "until": RFC3339.format(to), "truncated": truncated, "unreadable": unreadable,
            "deleted_before": deletedBefore.map { RFC3339.format($0) as Any } ?? NSNull(),
            "incidents": report.total, "open": report.open, "resolved": report.resolved, "paged": report.paged,
            "by_severity": Dictionary(uniqueKeysWithValues: report.bySeverity.map { ($0.0.rawValue, $0.1) }),
            "by_policy": Dictionary(uniqueKeysWithValues: report.byPolicy.map { ($0.0, $0.1) }),
            "by_label": Dictionary(uniqueKeysWithValues: report.byLabel.map { label, counts in
                (label, Dictionary(uniqueKeysWithValues: counts.map { ($0.0, $0.1) }))
            }),
            "time_to_acknowledge": spread(report.timeToAcknowledge),
            "time_to_resolve": spread(report.timeToResolve).merging(["auto_resolved_not_timed": report.autoResolvedUntimed]) { $1 },
            "resolved_by": Dictionary(uniqueKeysWithValues: report.resolvedBy.map { ($0.0.rawValue, $0.1) })
                .merging(["not_recorded": report.unrecordedResolutions]) { $1 },
            "sla_breaches": ["acknowledge": report.acknowledgeSLABreaches, "resolve": report.resolveSLABreaches],
            "sla_breached_incidents": ["acknowledge": report.acknowledgeSLABreached, "resolve": report.resolveSLABreached],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}

extension Resolution {
    /// As `report` and `show` name it: the policy key for an auto-resolve.
    var reportName: String {
        switch self {
        case .alerts: "alerts"
        case .operator: "operator"
        case .autoResolve: "auto_resolve_after"
        }
    }
}

extension IncidentView {
    /// The report's view of a listed incident; `nil` for one whose fields do not read.
    var reportItem: IncidentReport.Item? {
        guard let status = IncidentStatus(rawValue: status), let severity = Severity(rawValue: severity),
              let created = RFC3339.parse(created_at) else { return nil }
        let firstPaged = first_paged_at.flatMap(RFC3339.parse)
        // The first acknowledgement, unless it came before the first page (taken while a
        // silence held it): then the latest, which answered the page if any did.
        var acknowledged = (first_acknowledged_at ?? acknowledged_at).flatMap(RFC3339.parse)
        if let at = acknowledged, let firstPaged, IncidentReport.isBeforeFirstPage(at, firstPaged),
           let latest = acknowledged_at.flatMap(RFC3339.parse) {
            acknowledged = latest
        }
        return IncidentReport.Item(id: id, status: status, severity: severity, policy: policy, createdAt: created,
                                   firstPagedAt: firstPaged,
                                   acknowledgedAt: acknowledged,
                                   resolvedAt: resolved_at.flatMap(RFC3339.parse),
                                   resolution: resolution.flatMap(Resolution.init(rawValue:)), slaBreaches: sla_breaches ?? [],
                                   labels: labels)
    }
}
