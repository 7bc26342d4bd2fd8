import AlertBridgeCore
import ArgumentParser
import Foundation

/// `alertbridge report`: how the incidents of a window went, against their SLAs.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarize the incidents created in a window: counts, time to acknowledge and resolve, SLA breaches.")

    @Option(help: "The window, back from now: 30m, 12h, 7d (at most 365d).")
    var since: String = "7d"

    @Option(name: .customLong("group-by"), help: "Also count the incidents by this label's value, such as pop or region (repeatable).")
    var groupBy: [String] = []

    @Flag(help: "Print the report as JSON.")
    var json = false

    /// How many values of a label the table shows; `--json` has them all.
    static let valuesShown = 10

    func validate() throws {
        guard let window = DurationText.parse(since), window > .zero, window <= DurationText.longest else {
            throw ValidationError("--since must be a duration above zero and at most 365d, such as 12h or 7d")
        }
        for label in groupBy where label.isEmpty || !label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            || label.first!.isNumber {
            throw ValidationError("--group-by \"\(label)\" is not a label name (letters, digits and _, not starting with a digit)")
        }
    }

    func run() async throws {
        let window = DurationText.parse(since)!
        let from = SystemClock().now() - window
        let query = "status=all&limit=\(listMaximum)&since=\(RFC3339.format(from))"
        let data = try await request { try await $0.send("GET", "/api/v1/incidents?\(query)") }
        let incidents = try JSONDecoder().decode(IncidentList.self, from: data).incidents
        // The window is filtered here too: a server older than `since` lists everything.
        let readable = incidents.compactMap(\.reportItem)
        let unreadable = incidents.count - readable.count
        let report = IncidentReport(readable.filter { $0.createdAt >= from }, byLabels: groupBy)
        let truncated = incidents.count == listMaximum
        if json { return printRaw(try Self.json(report, from: from, truncated: truncated, unreadable: unreadable)) }
        print("incidents since \(RFC3339.format(from)) (\(DurationText.format(window))): \(report.total)"
              + " (\(report.open) open, \(report.resolved) resolved)"
              + (truncated ? "; the newest \(listMaximum) read, there may be more" : "")
              + (unreadable > 0 ? "; \(unreadable) left out (fields this version cannot read)" : ""))
        guard report.total > 0 else { return }
        printTable(nil, [
            ["by severity", report.bySeverity.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")],
            ["by policy", report.byPolicy.map { "\($0.0) \($0.1)" }.joined(separator: ", ")],
        ] + report.byLabel.map { label, counts in
            let more = counts.count > Self.valuesShown ? ", +\(counts.count - Self.valuesShown) more" : ""
            return ["by \(label)", counts.prefix(Self.valuesShown).map { "\($0.0) \($0.1)" }.joined(separator: ", ") + more]
        } + [
            ["acknowledged", Self.describe(report.timeToAcknowledge, of: report.paged)],
            ["resolved", Self.describe(report.timeToResolve, of: report.paged)
                + (report.autoResolvedUntimed > 0 ? "; \(report.autoResolvedUntimed) auto-resolved, not timed" : "")],
            ["resolved by", Self.describe(resolvedBy: report)],
            ["SLA breaches", "acknowledge \(report.acknowledgeSLABreaches), resolve \(report.resolveSLABreaches)"],
        ])
    }

    /// `1 of 2 paged, after p50 4m, ...`: timed from the first page, so only paged incidents count.
    static func describe(_ spread: IncidentReport.Spread?, of paged: Int) -> String {
        guard let spread else { return "0 of \(paged) paged" }
        // Whole seconds for people; `--json` keeps the milliseconds.
        return "\(spread.count) of \(paged) paged, after p50 \(DurationText.formatSeconds(spread.median)), "
            + "p90 \(DurationText.formatSeconds(spread.p90)), max \(DurationText.formatSeconds(spread.max))"
    }

    /// `alerts 6, operator 1, auto_resolve_after 10`: what closed the window's resolved incidents.
    static func describe(resolvedBy report: IncidentReport) -> String {
        let counts = report.resolvedBy.map { "\($0.0.reportName) \($0.1)" }
            + (report.unrecordedResolutions > 0 ? ["not recorded \(report.unrecordedResolutions)"] : [])
        return counts.joined(separator: ", ")
    }

    static func json(_ report: IncidentReport, from: Timestamp, truncated: Bool, unreadable: Int) throws -> Data {
        func spread(_ s: IncidentReport.Spread?) -> [String: Any] {
            guard let s else { return ["count": 0] }
            return ["count": s.count, "p50_seconds": Double(s.median.milliseconds) / 1000,
                    "p90_seconds": Double(s.p90.milliseconds) / 1000, "max_seconds": Double(s.max.milliseconds) / 1000]
        }
        let object: [String: Any] = [
            "since": RFC3339.format(from), "truncated": truncated, "unreadable": unreadable,
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
        return IncidentReport.Item(status: status, severity: severity, policy: policy, createdAt: created,
                                   firstPagedAt: first_paged_at.flatMap(RFC3339.parse),
                                   acknowledgedAt: (first_acknowledged_at ?? acknowledged_at).flatMap(RFC3339.parse),
                                   resolvedAt: resolved_at.flatMap(RFC3339.parse),
                                   resolution: resolution.flatMap(Resolution.init(rawValue:)), slaBreaches: sla_breaches ?? [],
                                   labels: labels)
    }
}
