import Foundation

/// The client's reading of the server's incident JSON.
struct IncidentView: Decodable {
    struct Entry: Decodable {
        var at: String
        var kind: String
        var by: String?
        var detail: String?
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
    var tier: Int
    var alert_count: Int
    var firing_alerts: Int
    var created_at: String
    var last_alert_at: String
    var acknowledged_at: String?
    var acknowledged_by: String?
    var resolved_at: String?
    var resolved_by: String?
    var next_escalation_at: String?
    var alerts: [AlertView]?
    var timeline: [Entry]?
}

struct IncidentList: Decodable {
    var incidents: [IncidentView]
}

/// Prints rows as a table whose columns line up, the last column unpadded.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for row in all {
        for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    for row in all {
        let line = row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
        print(line)
    }
}
