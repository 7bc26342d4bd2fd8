@testable import alertbridge
import Foundation
import Testing

/// The TIER column of `alertbridge incidents`: who is being paged, at a glance.
@Suite struct TierTextTests {
    func view(_ status: String, tier: Int = 2, paged: Bool = true, ended: Bool = false) throws -> IncidentView {
        let json = """
            {"id": 1, "status": "\(status)", "dedup_key": "k", "title": "t", "severity": "critical", "labels": {},
             "policy": "p", "tier": \(tier), "alert_count": 1, "firing_alerts": 1, "created_at": "2026-11-30T02:00:00Z",
             "first_paged_at": "2026-11-30T01:00:00Z", "last_alert_at": "2026-11-30T02:00:00Z",
             "paged": \(paged), "escalation_ended": \(ended)}
            """
        return try JSONDecoder().decode(IncidentView.self, from: Data(json.utf8))
    }

    /// By this episode, not the incident's life: a reopened incident a silence holds was
    /// paged in its first episode (it has a `first_paged_at`) and pages nobody now.
    @Test func noneYetEndedOrTheTier() throws {
        #expect(tierText(try view("triggered")) == "2")
        #expect(tierText(try view("triggered", paged: false)) == "none yet")
        #expect(tierText(try view("triggered", ended: true)) == "2, ended")
        #expect(tierText(try view("acknowledged", paged: false)) == "2")
        #expect(tierText(try view("resolved", paged: false)) == "2")
    }
}
