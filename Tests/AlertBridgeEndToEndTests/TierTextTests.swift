import AlertBridgeCore
@testable import alertbridge
import Foundation
import Testing

/// The TIER column of `alertbridge incidents`: who is being paged, at a glance.
@Suite struct TierTextTests {
    func view(_ status: String, tier: Int = 2, paged: Bool = true, ended: Bool = false, failed: Int = 0,
              retrying: Int = 0, inhibitedBy: [Int64] = [], waitUntil: String? = nil, keptOpenUntil: String? = nil) throws -> IncidentView {
        let json = """
            {"id": 1, "status": "\(status)", "dedup_key": "k", "title": "t", "severity": "critical", "labels": {},
             "policy": "p", "tier": \(tier), "alert_count": 1, "firing_alerts": 1, "created_at": "2026-11-30T02:00:00Z",
             "first_paged_at": "2026-11-30T01:00:00Z", "last_alert_at": "2026-11-30T02:00:00Z",
             "paged": \(paged), "escalation_ended": \(ended), "failed_pages": \(failed), "retrying_pages": \(retrying),
             "inhibited_by": \(inhibitedBy), "inhibit_wait_until": \(waitUntil.map { "\"\($0)\"" } ?? "null"),
             "kept_open_until": \(keptOpenUntil.map { "\"\($0)\"" } ?? "null")}
            """
        return try JSONDecoder().decode(IncidentView.self, from: Data(json.utf8))
    }

    /// By this episode, not the incident's life: a reopened incident a silence holds was
    /// paged in its first episode (it has a `first_paged_at`) and pages nobody now.
    @Test func noneYetEndedOrTheTier() throws {
        #expect(tierText(try view("triggered")) == "2")
        #expect(tierText(try view("triggered", paged: false)) == "none yet")
        #expect(tierText(try view("triggered", ended: true)) == "2, ended")
        #expect(tierText(try view("acknowledged")) == "2")
        #expect(tierText(try view("resolved")) == "2")
        // Acknowledged in its inhibit wait, or resolved while held: nobody was paged
        // (black-box round 31: `1` read as "tier 1 was paged").
        #expect(tierText(try view("acknowledged", paged: false)) == "none")
        #expect(tierText(try view("resolved", paged: false)) == "none")
        // Paging, its next step held while its PoP is down: not "2" as if escalation went on.
        #expect(tierText(try view("triggered", inhibitedBy: [17])) == "2, held by #17")
        // Not paged yet: held by its PoP-down, or seconds from its page (black-box round 30).
        #expect(tierText(try view("triggered", paged: false, inhibitedBy: [17])) == "none yet, held by #17")
        #expect(tierText(try view("triggered", paged: false, waitUntil: "2026-11-30T02:00:10Z")) == "none yet, inhibit wait")
        // Every alert recovered, kept open by keep_open_for: not "2" as if it still fired.
        #expect(tierText(try view("triggered", keptOpenUntil: "2026-11-30T02:01:00Z")) == "2, recovered")
        #expect(tierText(try view("acknowledged", keptOpenUntil: "2026-11-30T02:01:00Z")) == "2, recovered")
        // Recovered within its inhibit wait: not "inhibit wait" once that has ended.
        #expect(tierText(try view("triggered", paged: false, waitUntil: "2026-11-30T02:00:10Z", keptOpenUntil: "2026-11-30T02:01:00Z"))
                == "none yet, recovered")
    }

    /// A tier whose page failed for good (a 550 for every address, a webhook's 400) is not
    /// shown as plainly paged: nobody there may know.
    @Test func aFailedPageIsShownWithItsTier() throws {
        #expect(tierText(try view("triggered", failed: 1)) == "2, 1 page failed")
        #expect(tierText(try view("triggered", ended: true, failed: 3)) == "2, ended, 3 pages failed")
        #expect(tierText(try view("acknowledged", failed: 1)) == "2", "someone has it")
        #expect(deliveryText(try view("triggered", failed: 3))?.hasPrefix("3 pages to tier 2 failed for good in this episode: ") == true)
        #expect(deliveryText(try view("triggered")) == nil)
        #expect(deliveryText(try view("acknowledged", retrying: 1)) == nil, "someone has it")
    }

    /// During a mail or chat outage the tier's pages are retried: "1" alone read as
    /// "tier 1 has it" while nobody there had been reached (black-box round 20).
    @Test func pagesStillRetryingAreShownWithTheirTier() throws {
        #expect(tierText(try view("triggered", tier: 1, retrying: 2)) == "1, 2 pages retrying")
        #expect(tierText(try view("triggered", failed: 1, retrying: 1)) == "2, 1 page failed, 1 retrying")
        #expect(deliveryText(try view("triggered", tier: 1, retrying: 2)) == "2 pages not delivered yet, retrying: "
                + "someone paged was not reached (the timeline's delivery_failed entries say who and why)")
        #expect(deliveryText(try view("triggered", failed: 1, retrying: 1))?.hasPrefix(
            "1 page not delivered yet, retrying; 1 page to tier 2 failed for good in this episode: ") == true)
    }

    /// `report` times the acknowledgement that answered the first page: one taken while a
    /// silence held the incident came before it and answered nothing; the one after the
    /// page did (black-box round 26: "acknowledged 0 of 4 paged").
    @Test func theReportTimesTheAcknowledgementThatAnsweredThePage() throws {
        func item(first: String, latest: String) throws -> Duration? {
            let json = """
                {"id": 1, "status": "acknowledged", "dedup_key": "k", "title": "t", "severity": "critical", "labels": {},
                 "policy": "p", "tier": 1, "alert_count": 1, "firing_alerts": 1, "created_at": "2026-11-30T01:00:00Z",
                 "first_paged_at": "2026-11-30T01:00:20Z", "last_alert_at": "2026-11-30T01:00:00Z",
                 "first_acknowledged_at": "\(first)", "acknowledged_at": "\(latest)"}
                """
            let view = try JSONDecoder().decode(IncidentView.self, from: Data(json.utf8))
            return IncidentReport([try #require(view.reportItem)]).timeToAcknowledge?.max
        }
        #expect(try item(first: "2026-11-30T01:00:05Z", latest: "2026-11-30T01:00:36Z") == .seconds(16))
        #expect(try item(first: "2026-11-30T01:00:50Z", latest: "2026-11-30T01:09:00Z") == .seconds(30), "the first that answered")
        #expect(try item(first: "2026-11-30T01:00:05Z", latest: "2026-11-30T01:00:05Z") == nil, "none answered the page")
    }
}
