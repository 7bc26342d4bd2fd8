@testable import alertbridge
import Foundation
import Testing

/// The TIER column of `alertbridge incidents`: who is being paged, at a glance.
@Suite struct TierTextTests {
    func view(_ status: String, tier: Int = 2, firstPaged: String? = "2026-11-30T02:00:00Z", ended: Bool = false) throws -> IncidentView {
        let json = """
            {"id": 1, "status": "\(status)", "dedup_key": "k", "title": "t", "severity": "critical", "labels": {},
             "policy": "p", "tier": \(tier), "alert_count": 1, "firing_alerts": 1, "created_at": "2026-11-30T02:00:00Z",
             "first_paged_at": \(firstPaged.map { "\"\($0)\"" } ?? "null"), "last_alert_at": "2026-11-30T02:00:00Z",
             "escalation_ended": \(ended)}
            """
        return try JSONDecoder().decode(IncidentView.self, from: Data(json.utf8))
    }

    @Test func heldEndedOrTheTier() throws {
        #expect(tierText(try view("triggered")) == "2")
        #expect(tierText(try view("triggered", firstPaged: nil)) == "held")
        #expect(tierText(try view("triggered", ended: true)) == "2, ended")
        #expect(tierText(try view("acknowledged", ended: true)) == "2")
        #expect(tierText(try view("resolved", firstPaged: nil)) == "2")
    }
}
