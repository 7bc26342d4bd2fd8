import Foundation

/// The client's reading of the server's incident JSON.
struct IncidentView: Decodable {
    struct Entry: Decodable {
        var at: String
        var kind: String
        var by: String?
        var detail: String?
    }

    struct NextStepView: Decodable {
        var text: String
    }

    struct AlertView: Decodable {
        var fingerprint: String
        var status: String
        var summary: String
        var labels: [String: String]
        var received_count: Int
        var last_seen_at: String
    }

    var id: Int64
    var status: String
    var dedup_key: String
    var title: String
    var severity: String
    var labels: [String: String]
    var policy: String
    /// Absent from a server older than this CLI, and from a list.
    var policy_note: String?
    var tier: Int
    var alert_count: Int
    /// Absent from a server older than this CLI.
    var distinct_alerts: Int?
    var firing_alerts: Int
    var created_at: String
    var first_paged_at: String?
    var last_alert_at: String
    var acknowledged_at: String?
    var acknowledged_by: String?
    var first_acknowledged_at: String?
    var resolved_at: String?
    var resolved_by: String?
    var resolution: String?
    var next_escalation_at: String?
    var next_step: NextStepView?
    var paged: Bool?
    var failed_pages: Int?
    var retrying_pages: Int?
    var escalation_ended: Bool?
    var inhibited_by: [Int64]?
    var inhibit_wait_until: String?
    var kept_open_until: String?
    var sla_breaches: [String]?
    var alerts: [AlertView]?
    var timeline: [Entry]?
}

/// What the verbs that change an incident print of the server's answer: only these, so a
/// field they do not show (missing from a server of another version) cannot fail a verb
/// whose action is done, and stop it before the next id.
struct IncidentHeadline: Decodable {
    var id: Int64
    var title: String
    /// Each entry's `detail` alone, each optional: only to say what `escalate` paged.
    var timeline: [Line]?

    struct Line: Decodable {
        var detail: String?
    }

    /// `to tier 2 (rnd)`, from the timeline's last `escalated by hand to tier 2 (rnd)…`:
    /// whom a manual escalation paged, where the answer named only the incident (black-box
    /// round 41: a held incident's paged another policy's team, said on the timeline alone).
    var escalatedTo: String? {
        let prefix = "escalated by hand "
        guard let detail = timeline?.last(where: { $0.detail?.hasPrefix(prefix + "to tier ") == true })?.detail else { return nil }
        let rest = detail.dropFirst(prefix.count)
        guard let end = rest.firstIndex(of: ")") else { return nil }
        return String(rest[...end])
    }
}

struct IncidentList: Decodable {
    var incidents: [IncidentView]
    /// Resolved incidents before it are deleted (`retention:`); absent from an older server.
    var retention_cutoff: String?
}

/// Prints rows as a table whose columns line up, the last column unpadded; each cell on
/// one line (``oneLine(_:)``).
func printTable(_ header: [String]?, _ rows: [[String]]) {
    let all = ((header.map { [$0] } ?? []) + rows).map { $0.map(oneLine) }
    var widths = [Int](repeating: 0, count: all.first?.count ?? 0)
    for row in all {
        for (i, cell) in row.enumerated() { widths[i] = max(widths[i], displayWidth(cell)) }
    }
    for row in all {
        let line = row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - displayWidth(cell))
        }.joined(separator: "  ")
        print(line)
    }
}

/// `text` cut to `columns` terminal columns, ending in "…" where it was cut: one long
/// value (a 255-character PagerDuty key) would otherwise widen every row of a table.
func clipped(_ text: String, columns: Int) -> String {
    guard displayWidth(text) > columns else { return text }
    var out = ""
    var width = 0
    for character in text {
        let w = displayWidth(String(character))
        guard width + w < columns else { break }
        out.append(character)
        width += w
    }
    return out + "…"
}

/// Terminal columns: East Asian wide characters (Hangul, CJK, fullwidth forms, emoji) take two.
func displayWidth(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { width, scalar in
        switch scalar.value {
        case 0x0300...0x036F, 0x200B...0x200F: width
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD: width + 2
        default: width + 1
        }
    }
}

/// Text from the server (a title, a note, a label value) on one line: an Alertmanager
/// alert without `summary` is titled by its `description`, often several lines, which
/// wrapped a table row onto column 0. A control character is shown as Swift writes it in
/// a string: `\n`, `\r`, `\t`, others as `\u{1b}`. `--json` keeps the text as it is.
func oneLine(_ text: String) -> String {
    text.unicodeScalars.map { scalar in
        switch scalar {
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        case _ where scalar.properties.generalCategory == .control: "\\u{\(String(scalar.value, radix: 16))}"
        default: String(scalar)
        }
    }.joined()
}
