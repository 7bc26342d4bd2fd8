import AlertBridgeCore
import Testing

@Suite struct IncidentActionTests {
    let now = Timestamp(seconds: 1_795_457_100)
    var incident: Incident {
        Incident(id: 7, dedupKey: "k", status: .triggered, title: "t", severity: .critical, labels: [:],
                 annotations: [:], rule: "r", policy: "p", alertCount: 1, firingCount: 1,
                 createdAt: now, lastAlertAt: now, nextEscalationAt: now + .seconds(900))
    }

    @Test func acknowledgeThenResolve() throws {
        let (acked, entry) = try IncidentAction.acknowledge(by: "alice", note: "on it").apply(to: incident, now: now)
        #expect(acked.status == .acknowledged)
        #expect(acked.acknowledgedBy == "alice")
        #expect(entry == TimelineEntry(incidentID: 7, at: now, kind: .acknowledged, by: "alice", detail: "on it"))
        let (resolved, _) = try IncidentAction.resolve(by: "bob", note: nil).apply(to: acked, now: now + .seconds(60))
        #expect(resolved.status == .resolved)
        #expect(resolved.resolvedAt == now + .seconds(60))
        #expect(resolved.nextEscalationAt == nil)
    }

    /// The engine paged tier 2 at its deadline while an ack read the clock just before
    /// and committed just after: the ack takes the page's time, never an earlier one, so
    /// the page reads as overtaken instead of going out with the ack notice behind it.
    @Test func anActionIsNeverEarlierThanTheCurrentTiersPage() throws {
        var paged = incident
        paged.tier = 2
        paged.escalation.tierPagedAt = now + .seconds(900)
        let (acked, entry) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: paged, now: now + .milliseconds(899_900))
        #expect(acked.acknowledgedAt == now + .seconds(900) && entry.at == now + .seconds(900))
        let (resolved, _) = try IncidentAction.resolve(by: "bob", note: nil).apply(to: paged, now: now + .seconds(10))
        #expect(resolved.resolvedAt == now + .seconds(900))
        // Later than the page: its own time.
        #expect(try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: paged, now: now + .seconds(901)).0.acknowledgedAt
            == now + .seconds(901))
    }

    @Test func triggeredCanResolveDirectly() throws {
        #expect(try IncidentAction.resolve(by: "bob", note: nil).apply(to: incident, now: now).0.status == .resolved)
    }

    @Test func refusesBackwardTransitions() throws {
        let (resolved, _) = try IncidentAction.resolve(by: "bob", note: nil).apply(to: incident, now: now)
        #expect(throws: IncidentAction.Refusal.alreadyResolved(by: "bob", at: now)) {
            try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: resolved, now: now)
        }
        #expect(throws: IncidentAction.Refusal.alreadyResolved(by: "bob", at: now)) {
            try IncidentAction.resolve(by: "alice", note: nil).apply(to: resolved, now: now)
        }
        let (acked, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: incident, now: now)
        #expect(throws: IncidentAction.Refusal.alreadyAcknowledged(by: "alice", at: now)) {
            try IncidentAction.acknowledge(by: "carol", note: nil).apply(to: acked, now: now)
        }
    }

    @Test func notesAreAllowedInAnyStateButNeedText() throws {
        let (resolved, _) = try IncidentAction.resolve(by: "bob", note: nil).apply(to: incident, now: now)
        let (same, entry) = try IncidentAction.note(by: "bob", text: "root cause: origin TLS").apply(to: resolved, now: now)
        #expect(same == resolved)
        #expect(entry.kind == .note)
        #expect(throws: IncidentAction.Refusal.emptyNote) { try IncidentAction.note(by: "bob", text: "").apply(to: incident, now: now) }
    }

    @Test func refusalMessagesSayWhoAndWhen() {
        #expect(IncidentAction.Refusal.alreadyResolved(by: "bob", at: now).description
                == "incident is already resolved by bob at 2026-11-23T18:05:00Z")
    }
}
