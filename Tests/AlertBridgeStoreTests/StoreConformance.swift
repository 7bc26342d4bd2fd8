import AlertBridgeCore
import AlertBridgeStore
import Testing

/// The behaviour every ``IncidentStore`` must have, written once against the protocol.
///
/// Each store's tests run every one of ``checks`` on a fresh store of their own, as the
/// arguments of one parameterized test: the list is written once, so no store can skip one.
struct StoreConformance {
    let store: any IncidentStore
    let t0 = Timestamp(seconds: 1_795_457_100)

    /// - Parameter key: the dedup key; `EdgeLatencyHigh/POP/cdn-edge` unless given.
    static func routed(_ instance: String, _ status: AlertStatus = .firing, pop: String = "ICN1", key: String? = nil,
                       severity: Severity = .critical, reopen: Duration = .seconds(600)) -> RoutedAlert {
        let alert = Alert(source: "test", status: status, severity: severity, summary: "p95 latency at ICN1",
                          labels: ["alertname": "EdgeLatencyHigh", "pop": pop, "service": "cdn-edge", "instance": instance],
                          annotations: ["runbook": "https://wiki.example.com/edge"], value: 1.4, threshold: 0.8)
        return RoutedAlert(alert: alert, rule: "latency", dedupKey: key ?? "EdgeLatencyHigh/\(pop)/cdn-edge", policy: "cdn-performance", reopenWithin: reopen,
                           escalationPolicy: policy)
    }

    static let policy = EscalationPolicy(
        name: "cdn-performance",
        tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console"), .init(connector: "noc-email", to: ["noc@example.com"])],
                  escalateAfter: .seconds(900)),
            .init(name: "rnd", notify: [.init(connector: "rnd-chat")], escalateAfter: .seconds(1800)),
        ],
        repeat: 1, ackTimeout: .seconds(1800))

    /// PagerDuty's acknowledge and resolve find the incidents holding their event's alert:
    /// open ones only, each with the alert as stored.
    func openAlertsAreFoundByFingerprint() async throws {
        let edge1 = Self.routed("edge-01")
        let other = Self.routed("edge-01", key: "EdgeLatencyHigh/NRT1/cdn-edge")
        let ids = try await store.ingest([edge1, Self.routed("edge-02"), other], now: t0).compactMap(\.incidentID)
        let found = try await store.openAlerts(fingerprints: [edge1.alert.fingerprint])
        #expect(found.map(\.incident.id) == [ids[0], ids[2]])
        #expect(found.map(\.incident.dedupKey) == ["EdgeLatencyHigh/ICN1/cdn-edge", "EdgeLatencyHigh/NRT1/cdn-edge"])
        #expect(found[0].alert.labels["instance"] == "edge-01" && found[0].alert.source == "test")
        #expect(try await store.openAlerts(fingerprints: ["no-such-alert"]).isEmpty)
        _ = try await store.act(.resolve(by: "alice", note: nil), on: ids[2], now: t0 + .seconds(60))
        #expect(try await store.openAlerts(fingerprints: [edge1.alert.fingerprint]).map(\.incident.id) == [ids[0]])
    }

    func ingestCreatesThenMerges() async throws {
        let first = try await store.ingest([Self.routed("edge-01")], now: t0)
        #expect(first.map(\.kind) == [.created])
        let id = try #require(first[0].incidentID)
        let again = try await store.ingest([Self.routed("edge-01"), Self.routed("edge-01")], now: t0 + .seconds(5))
        #expect(again.map(\.kind) == [.merged, .merged])
        #expect(again.map(\.incidentID) == [id, id])
        let detail = try #require(try await store.incident(id: id))
        #expect(detail.incident.alertCount == 3)
        #expect(detail.incident.lastAlertAt == t0 + .seconds(5))
        #expect(detail.incident.labels["pop"] == "ICN1")
        #expect(detail.alerts.count == 1)
        #expect(detail.alerts[0].receivedCount == 3)
        #expect(detail.alerts[0].value == 1.4)
        #expect(detail.alerts[0].firstSeenAt == t0)
        #expect(detail.timeline.map(\.kind) == [.created, .paged])
    }

    /// A new incident takes its first alert's labels and annotations; every alert row of
    /// the batch keeps its own (the SQLite writer reuses the incident's text for the first).
    func everyAlertOfANewIncidentKeepsItsOwnMaps() async throws {
        var second = Self.routed("edge-02")
        second.alert.annotations = ["runbook": "https://wiki.example.com/edge-02", "dashboard": "https://grafana/edge"]
        let other = Self.routed("edge-09", pop: "NRT1")
        let out = try await store.ingest([Self.routed("edge-01"), second, other], now: t0)
        let id = try #require(out[0].incidentID)
        #expect(out.map(\.kind) == [.created, .merged, .created])
        let detail = try #require(try await store.incident(id: id))
        #expect(detail.incident.labels["instance"] == "edge-01")
        #expect(detail.incident.annotations == ["runbook": "https://wiki.example.com/edge"])
        let rows = Dictionary(uniqueKeysWithValues: detail.alerts.map { ($0.labels["instance"] ?? "", $0) })
        #expect(rows["edge-01"]?.labels == Self.routed("edge-01").alert.labels)
        #expect(rows["edge-01"]?.annotations == ["runbook": "https://wiki.example.com/edge"])
        #expect(rows["edge-02"]?.labels == second.alert.labels)
        #expect(rows["edge-02"]?.annotations == second.alert.annotations)
        let nrtID = try #require(out[2].incidentID)
        let nrt = try #require(try await store.incident(id: nrtID))
        #expect(nrt.incident.labels == other.alert.labels && nrt.alerts.map(\.labels) == [other.alert.labels])
    }

    func severityOnlyRises() async throws {
        let id = try #require(try await store.ingest([Self.routed("a", severity: .warning)], now: t0)[0].incidentID)
        _ = try await store.ingest([Self.routed("a", severity: .critical)], now: t0 + .seconds(1))
        _ = try await store.ingest([Self.routed("a", severity: .info)], now: t0 + .seconds(2))
        #expect(try await store.incident(id: id)?.incident.severity == .critical)
    }

    func multiAlertIncidentResolvesWhenAllResolve() async throws {
        let out = try await store.ingest([Self.routed("icn1-edge-01"), Self.routed("icn1-edge-02")], now: t0)
        let id = try #require(out[0].incidentID)
        #expect(out[1].incidentID == id)
        // A native recovery carrying only its labels: the row keeps what fired.
        var bare = Self.routed("icn1-edge-01", .resolved, severity: .warning)
        (bare.alert.summary, bare.alert.annotations, bare.alert.value) = ("EdgeLatencyHigh", [:], nil)
        let partial = try await store.ingest([bare], now: t0 + .seconds(60))
        #expect(partial.map(\.kind) == [.merged])
        var detail = try #require(try await store.incident(id: id))
        #expect(detail.incident.status == .triggered)
        #expect(detail.incident.firingCount == 1)
        let row = try #require(detail.alerts.first { $0.labels["instance"] == "icn1-edge-01" })
        #expect(row.status == .resolved)
        #expect(row.summary == "p95 latency at ICN1" && row.severity == .critical && row.value == 1.4)
        #expect(row.annotations == ["runbook": "https://wiki.example.com/edge"])
        #expect(detail.timeline.contains { $0.detail == "icn1-edge-01 recovered" })
        _ = try await store.ingest([Self.routed("icn1-edge-02", .resolved)], now: t0 + .seconds(90))
        detail = try #require(try await store.incident(id: id))
        #expect(detail.incident.status == .resolved)
        #expect(detail.incident.resolvedAt == t0 + .seconds(90))
        #expect(detail.incident.escalation.resolution == .alerts)
        #expect(detail.alerts.allSatisfy { $0.status == .resolved })
    }

    /// Alertmanager delivers out of order: a recovery of an episode that ended before the
    /// alert fired again must not resolve what fires now (black-box round 23: firing at T0,
    /// firing again from T2, then the late recovery ending at T1 resolved the incident).
    /// Checked from the store's own memory of the alert and, after a note (which makes the
    /// SQLite writer forget the key), from its rows.
    func aLateRecoveryOfAnEarlierEpisodeDoesNotResolveWhatFiresNow() async throws {
        func webhook(_ status: AlertStatus, startsAt: Timestamp, endsAt: Timestamp? = nil) -> RoutedAlert {
            var routed = Self.routed("icn1-edge-01", status)
            routed.alert.startsAt = startsAt
            routed.alert.endsAt = endsAt
            routed.alert.dropsLateRecoveries = true
            return routed
        }
        let id = try #require(try await store.ingest([webhook(.firing, startsAt: t0)], now: t0)[0].incidentID)
        _ = try await store.ingest([webhook(.firing, startsAt: t0 + .seconds(120))], now: t0 + .seconds(130))
        for (late, at) in [(t0 + .seconds(140), false), (t0 + .seconds(150), true)] {
            if at { _ = try await store.act(.note(by: "alice", text: "looking"), on: id, now: late - .seconds(1)) }
            let out = try await store.ingest([webhook(.resolved, startsAt: t0, endsAt: t0 + .seconds(60))], now: late)
            #expect(out.map(\.kind) == [.merged])
            let detail = try #require(try await store.incident(id: id))
            #expect(detail.incident.status == .triggered)
            #expect(detail.incident.firingCount == 1)
            #expect(detail.alerts.map(\.status) == [.firing])
        }
        let recovered = try await store.ingest([webhook(.resolved, startsAt: t0 + .seconds(120), endsAt: t0 + .seconds(160))],
                                               now: t0 + .seconds(161))
        #expect(recovered.map(\.kind) == [.resolved])
        #expect(try await store.incident(id: id)?.incident.status == .resolved)
    }

    func reopenWithinWindowElseNewIncident() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        _ = try await store.ingest([Self.routed("a", .resolved)], now: t0 + .seconds(10))
        let reopened = try await store.ingest([Self.routed("a")], now: t0 + .seconds(100))
        var paged = IngestOutcome(incidentID: id, dedupKey: "EdgeLatencyHigh/ICN1/cdn-edge", kind: .reopened)
        paged.tierPages = 1  // tier 1, paged again
        #expect(reopened == [paged])
        #expect(try await store.incident(id: id)?.incident.status == .triggered)
        _ = try await store.ingest([Self.routed("a", .resolved)], now: t0 + .seconds(200))
        let fresh = try await store.ingest([Self.routed("a")], now: t0 + .seconds(200 + 601))
        #expect(fresh.map(\.kind) == [.created])
        #expect(fresh[0].incidentID != id)
    }

    func operatorActionsAndRefusals() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        let acked = try await store.act(.acknowledge(by: "alice", note: "looking"), on: id, now: t0 + .seconds(30))
        #expect(acked.status == .acknowledged)
        await #expect(throws: IncidentAction.Refusal.alreadyAcknowledged(by: "alice", at: t0 + .seconds(30))) {
            try await store.act(.acknowledge(by: "bob", note: nil), on: id, now: t0 + .seconds(31))
        }
        _ = try await store.act(.note(by: "alice", text: "origin TLS cert expired"), on: id, now: t0 + .seconds(40))
        _ = try await store.act(.resolve(by: "alice", note: "renewed"), on: id, now: t0 + .seconds(50))
        await #expect(throws: IncidentAction.Refusal.self) {
            try await store.act(.acknowledge(by: "bob", note: nil), on: id, now: t0 + .seconds(60))
        }
        await #expect(throws: StoreError.notFound(999_999)) {
            try await store.act(.acknowledge(by: "bob", note: nil), on: 999_999, now: t0)
        }
        let detail = try #require(try await store.incident(id: id))
        #expect(detail.incident.status == .resolved)
        #expect(detail.incident.acknowledgedBy == "alice")
        #expect(detail.incident.resolvedBy == "alice")
        #expect(detail.incident.escalation.resolution == .operator)
        #expect(detail.alerts.allSatisfy { $0.status == .resolved })
        #expect(detail.timeline.map(\.kind) == [.created, .paged, .acknowledged, .note, .resolved])
        #expect(detail.timeline[2].detail == "looking")
        #expect(detail.timeline.map(\.by) == ["test", "alertbridge", "alice", "alice", "alice"])
    }

    /// Ingest after every other kind of write keeps what that write did: a merge never
    /// undoes an acknowledgement, an escalation or a resolve (the SQLite writer keeps
    /// recent incidents in memory, so this is what proves it forgets them in time).
    func ingestSeesEveryOtherWrite() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        _ = try await store.ingest([Self.routed("a")], now: t0 + .seconds(1))  // now remembered
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: t0 + .seconds(2))
        _ = try await store.ingest([Self.routed("a")], now: t0 + .seconds(3))
        var incident = try #require(try await store.incident(id: id)?.incident)
        #expect(incident.status == .acknowledged)
        #expect(incident.alertCount == 3)

        // Past the ack timeout the engine re-triggers it and pages tier 1 again.
        let report = try await store.advanceEscalations(now: t0 + .seconds(2 + 1800), limit: 10, context: .init())
        #expect(report.advanced == 1)
        _ = try await store.ingest([Self.routed("a")], now: t0 + .seconds(1810))
        incident = try #require(try await store.incident(id: id)?.incident)
        #expect(incident.status == .triggered)
        #expect(incident.acknowledgedAt == nil)

        _ = try await store.escalate(id: id, by: "bob", now: t0 + .seconds(1820))
        _ = try await store.ingest([Self.routed("a")], now: t0 + .seconds(1830))
        #expect(try await store.incident(id: id)?.incident.tier == 2)

        _ = try await store.act(.resolve(by: "alice", note: nil), on: id, now: t0 + .seconds(1840))
        let again = try await store.ingest([Self.routed("a")], now: t0 + .seconds(1850))
        #expect(again.map(\.kind) == [.reopened])
        #expect(again[0].incidentID == id)
    }

    func listingFiltersAndOrders() async throws {
        let a = try #require(try await store.ingest([Self.routed("a", key: "A")], now: t0)[0].incidentID)
        let b = try #require(try await store.ingest([Self.routed("b", key: "B")], now: t0)[0].incidentID)
        let c = try #require(try await store.ingest([Self.routed("c", key: "C")], now: t0)[0].incidentID)
        _ = try await store.act(.acknowledge(by: "x", note: nil), on: b, now: t0)
        _ = try await store.act(.resolve(by: "x", note: nil), on: c, now: t0)
        #expect(try await store.incidents(IncidentQuery(status: .open)).map(\.id) == [b, a])
        #expect(try await store.incidents(IncidentQuery(status: .triggered)).map(\.id) == [a])
        #expect(try await store.incidents(IncidentQuery(status: .acknowledged)).map(\.id) == [b])
        #expect(try await store.incidents(IncidentQuery(status: .resolved)).map(\.id) == [c])
        #expect(try await store.incidents(IncidentQuery(status: .all)).map(\.id) == [c, b, a])
        #expect(try await store.incidents(IncidentQuery(status: .all, limit: 2)).map(\.id) == [c, b])
        // The next page after b, although all three share their created_at.
        var next = IncidentQuery(status: .all, limit: 2)
        next.beforeID = b
        #expect(try await store.incidents(next).map(\.id) == [a])
        #expect(try await store.incident(id: 424_242) == nil)
    }

    /// `incidents --severity critical --label pop=TPE1`: a NOC in a regional event lists one
    /// PoP's incidents among hundreds; the limit counts only those that match.
    /// `keep_open_for`: an alert that recovers and fires again within it is one episode, with
    /// no resolve notice and no reopen page; the next tier that fell due while it was kept
    /// open is paged once it fires again; a recovery it outlasts resolves it, as of the
    /// recovery, with one resolve notice to each tier paged.
    func aFlapWithinKeepOpenForIsOneEpisode() async throws {
        func claimed(_ now: Timestamp) async throws -> [String] {
            Set(try await store.claimDeliveries(now: now, lease: .seconds(86_400), limit: 100, quota: .none)
                .map { "\($0.event.rawValue):\($0.tier)" }).sorted()
        }
        func alert(_ status: AlertStatus) -> RoutedAlert {
            var alert = Self.routed("edge-01", status)
            alert.keepOpenFor = .seconds(60)
            return alert
        }
        let id = try #require(try await store.ingest([alert(.firing)], now: t0)[0].incidentID)
        #expect(try await claimed(t0) == ["triggered:1"])

        // Recovers 30 s before tier 2 is due (15m): kept open, nobody told.
        #expect(try await store.ingest([alert(.resolved)], now: t0 + .seconds(870)).map(\.kind) == [.merged])
        let kept = try #require(try await store.incident(id: id))
        #expect(kept.incident.status == .triggered && kept.incident.nextEscalationAt == t0 + .seconds(930))
        let step = try #require(kept.policy.flatMap { EscalationPlanner.nextStep(kept.incident, policy: $0) })
        #expect(step.action == .keptOpen(recoveredAt: t0 + .seconds(870)) && step.at == t0 + .seconds(930))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(900), limit: 10, context: EscalationContext()).advanced == 0, "tier 2 waits")
        #expect(try await claimed(t0 + .seconds(900)).isEmpty)

        // Fires again: the episode goes on, and tier 2, due meanwhile, is paged now.
        #expect(try await store.ingest([alert(.firing)], now: t0 + .seconds(910)).map(\.kind) == [.merged])
        #expect(try await store.advanceEscalations(now: t0 + .seconds(910), limit: 10, context: EscalationContext()).pages == 1)
        #expect(try await claimed(t0 + .seconds(910)) == ["escalated:2"], "no resolve notice, no reopen page")

        // Recovers for good: resolved at the end of keep_open_for, as of the recovery.
        _ = try await store.ingest([alert(.resolved)], now: t0 + .seconds(1000))
        // A copy of the recovery does not put the end off (a probe reporting every 30 s
        // would keep it open for ever).
        _ = try await store.ingest([alert(.resolved)], now: t0 + .seconds(1030))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(1059), limit: 10, context: EscalationContext()).advanced == 0)
        #expect(try await store.advanceEscalations(now: t0 + .seconds(1060), limit: 10, context: EscalationContext()).advanced == 1)
        let resolved = try #require(try await store.incident(id: id))
        #expect(resolved.incident.status == .resolved && resolved.incident.resolvedAt == t0 + .seconds(1000))
        #expect(resolved.incident.resolvedBy == "test" && resolved.incident.escalation.resolution == .alerts)
        #expect(resolved.incident.escalation.recovery == nil)
        #expect(try await claimed(t0 + .seconds(1060)) == ["resolved:1", "resolved:2"])
        #expect(resolved.timeline.map(\.detail).contains(
            "fired again 40s after all its alerts recovered, before it resolved (keep_open_for): it stays open, and nobody is told it resolved or reopened"))
        #expect(resolved.timeline.last?.detail
            == "all alerts resolved at \(RFC3339.format(t0 + .seconds(1000))), and none fired again in the 1m it was kept open (keep_open_for)")
    }

    func listingFiltersBySeverityAndLabels() async throws {
        func alert(_ pop: String, _ severity: Severity, key: String) -> RoutedAlert {
            Self.routed("\(pop.lowercased())-edge-01", pop: pop, key: key, severity: severity)
        }
        let ids = try await store.ingest([alert("TPE1", .critical, key: "A"), alert("TPE1", .warning, key: "B"),
                                          alert("ICN1", .critical, key: "C"), alert("TPE1", .critical, key: "D")], now: t0).compactMap(\.incidentID)
        func listed(_ severities: [Severity], _ labels: Labels, limit: Int = 100) async throws -> [Int64] {
            var query = IncidentQuery(status: .open, limit: limit)
            query.severities = severities
            query.labels = labels
            return try await store.incidents(query).map(\.id)
        }
        #expect(try await listed([.critical], [:]) == [ids[3], ids[2], ids[0]])
        #expect(try await listed([], ["pop": "TPE1"]) == [ids[3], ids[1], ids[0]])
        #expect(try await listed([.critical], ["pop": "TPE1"], limit: 1) == [ids[3]])
        #expect(try await listed([.critical, .warning], ["pop": "TPE1", "service": "cdn-edge"]) == [ids[3], ids[1], ids[0]])
        #expect(try await listed([], ["pop": "TPE1", "service": "image-resize"]).isEmpty)
        #expect(try await listed([.info], [:]).isEmpty)
        #expect(try await listed([], ["no_such_label": ""]).isEmpty, "a label the incident lacks is not an empty value")
    }

    /// Several incidents read at once (the dispatcher's read of a claim's pages): each
    /// with its own alerts, timeline and policy (what its pages say comes next); unknown
    /// and repeated ids are no error.
    func incidentDetailsReadsEachWithItsOwnAlertsAndTimeline() async throws {
        let a = try #require(try await store.ingest([Self.routed("a1", key: "A"), Self.routed("a2", key: "A")], now: t0)[0].incidentID)
        let b = try #require(try await store.ingest([Self.routed("b1", key: "B")], now: t0)[0].incidentID)
        let c = try #require(try await store.ingest([Self.routed("c1", key: "C")], now: t0)[0].incidentID)
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: c, now: t0 + .seconds(60))
        let details = try await store.incidentDetails(ids: [c, a, 424_242, a])
        // A listing's count of them: distinct alerts, not copies.
        _ = try await store.ingest([Self.routed("a1", key: "A")], now: t0 + .seconds(61))
        #expect(try await store.distinctAlerts(of: [a, b, 424_242]) == [a: 2, b: 1])
        #expect(Set(details.keys) == [a, c])
        #expect(details[a]?.incident.dedupKey == "A")
        #expect(Set(details[a]?.alerts.compactMap { $0.labels["instance"] } ?? []) == ["a1", "a2"])
        #expect(details[a]?.timeline.map(\.kind) == [.created, .paged, .alert])
        #expect(details[c]?.alerts.map { $0.labels["instance"] } == ["c1"])
        #expect(details[c]?.timeline.map(\.kind) == [.created, .paged, .acknowledged])
        #expect(details[c]?.incident.status == .acknowledged)
        #expect(try await store.incidentDetails(ids: [b])[b]?.alerts.map { $0.labels["instance"] } == ["b1"])
        #expect(details[a]?.policy == Self.policy && details[c]?.policy == Self.policy)
        #expect(try await store.incidentDetails(ids: []).isEmpty)
    }

    /// Many concurrent batches of the same keys (a storm): one incident per key, counts add up.
    func concurrentStormOfOneKeySet() async throws {
        let keys = (0..<20).map { "Storm/\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for round in 0..<10 {
                        let batch = keys.map { Self.routed("host-\(worker % 2)", key: $0) }
                        _ = try await store.ingest(batch, now: t0 + .seconds(Int64(round)))
                    }
                }
            }
            try await group.waitForAll()
        }
        let open = try await store.incidents(IncidentQuery(status: .all, limit: 1000))
        #expect(open.count == keys.count)
        #expect(Set(open.map(\.dedupKey)) == Set(keys))
        #expect(open.map(\.alertCount).reduce(0, +) == 8 * 10 * keys.count)
        #expect(open.allSatisfy { $0.firingCount == 2 })
    }

    func timelineAndLabelsSurviveUnicode() async throws {
        var r = Self.routed("a", key: "서울/ICN1")
        r.alert.summary = "서울 PoP 지연 1.4초 — \"quoted\" \\ backslash"
        r.alert.labels["city"] = "서울"
        let id = try #require(try await store.ingest([r], now: t0)[0].incidentID)
        let detail = try #require(try await store.incident(id: id))
        #expect(detail.incident.title == r.alert.summary)
        #expect(detail.incident.labels["city"] == "서울")
        #expect(detail.incident.dedupKey == "서울/ICN1")
    }

    /// New incidents of one batch usually share their escalation state, and the SQLite
    /// store writes that state's JSON once; one that was not paged must keep its own.
    func eachNewIncidentKeepsItsOwnEscalationState() async throws {
        var unpaged = Self.routed("b", key: "k2")
        unpaged.escalationPolicy = nil
        let out = try await store.ingest([Self.routed("a", key: "k1"), unpaged, Self.routed("c", key: "k3")], now: t0)
        #expect(out.map(\.kind) == [.created, .created, .created])
        for (index, paged) in [(0, true), (1, false), (2, true)] {
            let id = try #require(out[index].incidentID)
            let incident = try #require(try await store.incident(id: id)).incident
            #expect(incident.escalation.step == (paged ? 1 : 0))
            #expect(incident.escalation.tierPagedAt == (paged ? t0 : nil))
            #expect(incident.nextEscalationAt == (paged ? t0 + .seconds(900) : nil))
        }
    }

    /// A tier listed as paged whose pages reached nobody says so: the current tier's pages
    /// of the incident's current episode that failed for good are counted, and any tier's
    /// of the episode failed so far and retrying; a notice, an earlier tier's failure for
    /// good and an earlier episode's are not.
    func undeliveredPagesAreTheCurrentTiersPagesThatReachedNobody() async throws {
        let a = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        let b = try #require(try await store.ingest([Self.routed("b", key: "B")], now: t0)[0].incidentID)
        func current(_ id: Int64) async throws -> Incident { try #require(try await store.incident(id: id)).incident }
        func undelivered() async throws -> [Int64: UndeliveredPages] {
            try await store.undeliveredPages(of: [try await current(a), try await current(b)])
        }
        func failed() async throws -> [Int64: Int] { try await undelivered().compactMapValues { $0.failed > 0 ? $0.failed : nil } }
        let pages = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10, quota: .none)
        #expect(pages.count == 4)
        try await store.recordDeliveries(pages.map { page in
            let outcome: DeliveryOutcome = switch (page.incidentID, page.connector) {
            case (a, "noc-email"): .failed(reason: "the server refused every recipient: noc@example.com (550 5.1.1 User unknown)")
            case (b, "console"): .retry(at: t0 + .seconds(30), reason: "connection refused")
            default: .delivered
            }
            return DeliveryRecord(id: page.id, outcome: outcome)
        }, now: t0 + .seconds(1))
        // b's page failed so far and waits for its retry: nobody has it yet either.
        #expect(try await undelivered() == [a: UndeliveredPages(failed: 1), b: UndeliveredPages(retrying: 1)])
        #expect(try await store.undeliveredPages(of: []).isEmpty)
        // Tier 2 paged: tier 1's failure is history (the timeline has it); tier 2's own counts.
        _ = try await store.escalate(id: a, by: "bob", now: t0 + .seconds(30))
        let tier2 = try await store.claimDeliveries(now: t0 + .seconds(30), lease: .seconds(60), limit: 10, quota: .none)
            .filter { $0.incidentID == a }
        #expect(tier2.map(\.tier) == [2])
        #expect(try await undelivered() == [b: UndeliveredPages(retrying: 1)])
        try await store.recordDeliveries(tier2.map { DeliveryRecord(id: $0.id, outcome: .failed(reason: "HTTP 400")) },
                                         now: t0 + .seconds(31))
        #expect(try await failed() == [a: 1])
        // b's tier 1 page still retrying when tier 2 is paged: still counted, since tier 1
        // was not reached either (it read as reached; black-box round 25).
        _ = try await store.escalate(id: b, by: "bob", now: t0 + .seconds(32))
        #expect(try await current(b).tier == 2)
        #expect(try await undelivered()[b] == UndeliveredPages(retrying: 1))
        // A notice that fails is not a page that failed.
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: a, now: t0 + .seconds(60))
        let notices = try await store.claimDeliveries(now: t0 + .seconds(60), lease: .seconds(60), limit: 10, quota: .none)
            .filter { $0.incidentID == a }
        #expect(!notices.isEmpty)
        try await store.recordDeliveries(notices.map { DeliveryRecord(id: $0.id, outcome: .failed(reason: "HTTP 400")) },
                                         now: t0 + .seconds(61))
        #expect(try await failed() == [a: 1])
        // The acknowledgement times out: tier 1 is paged again, and its new page is what
        // counts, not its first one that failed (black-box round 22).
        _ = try await store.advanceEscalations(now: t0 + .seconds(60 + 1800), limit: 10, context: .init())
        let repaged = try await current(a)
        #expect(repaged.tier == 1 && repaged.status == .triggered)
        #expect(try await failed().isEmpty)
        // Resolved and firing again: a new episode, paged afresh.
        _ = try await store.act(.resolve(by: "alice", note: nil), on: a, now: t0 + .seconds(120))
        let reopened = try await store.ingest([Self.routed("a")], now: t0 + .seconds(180))
        #expect(reopened.map(\.kind) == [.reopened])
        #expect(try await failed().isEmpty)
        // b's retry delivered, and its tier 2 page: they reached someone.
        let retried = try await store.claimDeliveries(now: t0 + .seconds(200), lease: .seconds(60), limit: 10, quota: .none)
            .filter { $0.incidentID == b }
        #expect(retried.map(\.tier).sorted() == [1, 2])
        try await store.recordDeliveries(retried.map { DeliveryRecord(id: $0.id, outcome: .delivered) }, now: t0 + .seconds(201))
        #expect(try await undelivered().isEmpty)
    }

    /// Each outcome of a page as the timeline shows it: a refused recipient of several and
    /// the first failure of a retried page are written once; a page some recipients were
    /// refused is sent, not handed out again.
    func deliveryOutcomesReachTheTimeline() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        let claimed = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10, quota: .none)
        let mail = try #require(claimed.first { $0.connector == "noc-email" })
        let chat = try #require(claimed.first { $0.connector == "console" })
        try await store.recordDeliveries([
            DeliveryRecord(id: mail.id, outcome: .partlyDelivered(refused: ["bob@example.com (550 5.1.1 User unknown)"])),
            DeliveryRecord(id: chat.id, outcome: .retry(at: t0 + .seconds(10), reason: "connection refused")),
        ], now: t0 + .seconds(1))
        // After the lease: only the page to retry is handed out again.
        let again = try await store.claimDeliveries(now: t0 + .seconds(120), lease: .seconds(60), limit: 10, quota: .none)
        #expect(again.map(\.id) == [chat.id])
        try await store.recordDeliveries([DeliveryRecord(id: chat.id, outcome: .failed(reason: "gave up"))], now: t0 + .seconds(121))
        #expect(try await store.claimDeliveries(now: t0 + .seconds(600), lease: .seconds(60), limit: 10, quota: .none).isEmpty)
        // A notice is named as one: the refusal belongs to the resolve notice, not to a page.
        _ = try await store.act(.resolve(by: "alice", note: nil), on: id, now: t0 + .seconds(700))
        let notices = try await store.claimDeliveries(now: t0 + .seconds(700), lease: .seconds(60), limit: 10, quota: .none)
        let notice = try #require(notices.first { $0.connector == "noc-email" })
        let chatNotice = try #require(notices.first { $0.connector == "console" })
        try await store.recordDeliveries([
            DeliveryRecord(id: notice.id, outcome: .partlyDelivered(refused: ["bob@example.com (550 5.1.1 User unknown)"])),
            DeliveryRecord(id: chatNotice.id, outcome: .retry(at: t0 + .seconds(710), reason: "connection refused")),
        ], now: t0 + .seconds(701))
        let timeline = try #require(try await store.incidentDetails(ids: [id])[id]).timeline
        #expect(timeline.filter { $0.kind == .deliveryFailed }.map(\.detail) == [
            "tier 1 via noc-email: refused bob@example.com (550 5.1.1 User unknown) the page; the other recipients have it",
            "tier 1 via console: connection refused; retrying",
            "tier 1 via console: gave up",
            "tier 1 via noc-email: refused bob@example.com (550 5.1.1 User unknown) the resolve notice; the other recipients have it",
            "tier 1 via console (resolve notice): connection refused; retrying",  // not to be read as the page's
        ])
    }

    /// Greylisting: an address refused for now gets the page again, and nobody else does;
    /// the timeline says so, and says how it ended, as it does for a page that failed and
    /// went out later.
    func aRecipientRefusedForNowGetsThePageAgain() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        #expect(try await store.outboxBacklog() == OutboxBacklog(pending: 2, oldest: t0))
        let claimed = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10, quota: .none)
        let mail = try #require(claimed.first { $0.connector == "noc-email" })
        let chat = try #require(claimed.first { $0.connector == "console" })
        let refused = "bob@example.com (451 4.7.1 Greylisted, try again later)"
        try await store.recordDeliveries([
            DeliveryRecord(id: mail.id, outcome: .partlyDelivered(
                refused: [refused], retry: RecipientRetry(recipients: ["bob@example.com"], at: t0 + .seconds(300)))),
            DeliveryRecord(id: chat.id, outcome: .retry(at: t0 + .seconds(10), reason: "connection refused")),
        ], now: t0 + .seconds(1))
        #expect(try await store.nextDeliveryDue(excluding: []) == t0 + .seconds(10))
        let chatAgain = try await store.claimDeliveries(now: t0 + .seconds(10), lease: .seconds(60), limit: 10, quota: .none)
        #expect(chatAgain.map(\.id) == [chat.id])
        try await store.recordDeliveries([DeliveryRecord(id: chat.id, outcome: .delivered)], now: t0 + .seconds(11))
        #expect(try await store.outboxBacklog() == OutboxBacklog(pending: 1, oldest: t0))  // bob's copy
        #expect(try await store.claimDeliveries(now: t0 + .seconds(299), lease: .seconds(60), limit: 10, quota: .none).isEmpty)
        // Due at the retry's time, to bob only; the same row (so the same Message-ID).
        let mailAgain = try await store.claimDeliveries(now: t0 + .seconds(300), lease: .seconds(60), limit: 10, quota: .none)
        #expect(mailAgain.map(\.id) == [mail.id])
        #expect(mailAgain.first?.recipients == ["bob@example.com"])
        #expect(mailAgain.first?.attempts == 2)
        try await store.recordDeliveries([DeliveryRecord(id: mail.id, outcome: .delivered)], now: t0 + .seconds(301))
        #expect(try await store.claimDeliveries(now: t0 + .seconds(3600), lease: .seconds(60), limit: 10, quota: .none).isEmpty)
        #expect(try await store.nextDeliveryDue(excluding: []) == nil)
        #expect(try await store.outboxBacklog() == OutboxBacklog(pending: 0, oldest: nil))

        let timeline = try #require(try await store.incidentDetails(ids: [id])[id]).timeline
            .filter { $0.at > t0 && ($0.kind == .deliveryFailed || $0.kind == .paged) }
        #expect(timeline.map { "\($0.kind.rawValue): \($0.detail ?? "")" } == [
            "delivery_failed: tier 1 via noc-email: refused \(refused) the page; the other recipients have it; retrying bob@example.com",
            "delivery_failed: tier 1 via console: connection refused; retrying",
            "paged: tier 1 via console: delivered the page on attempt 2",
            "paged: tier 1 via noc-email: delivered the page to bob@example.com on attempt 2",
        ])
        // A page delivered at the first try adds nothing: the planner's own line says who was paged.
        _ = try await store.act(.resolve(by: "alice", note: nil), on: id, now: t0 + .seconds(400))
        let notices = try await store.claimDeliveries(now: t0 + .seconds(400), lease: .seconds(60), limit: 10, quota: .none)
        #expect(notices.count == 2)
        try await store.recordDeliveries(notices.map { DeliveryRecord(id: $0.id, outcome: .delivered) }, now: t0 + .seconds(401))
        let after = try #require(try await store.incidentDetails(ids: [id])[id]).timeline
        #expect(after.filter { $0.kind == .paged && $0.at == t0 + .seconds(401) }.isEmpty)
    }

    /// A new incident whose mail page reached all but bob, greylisted and due again at
    /// 300 s; its chat page is claimed and not recorded yet.
    func pageWithBobGreylisted() async throws -> (id: Int64, mail: Delivery, chat: Delivery) {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        let claimed = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10, quota: .none)
        let mail = try #require(claimed.first { $0.connector == "noc-email" })
        let chat = try #require(claimed.first { $0.connector == "console" })
        try await store.recordDeliveries([
            DeliveryRecord(id: mail.id, outcome: .partlyDelivered(
                refused: ["bob@example.com (451 4.7.1 Greylisted)"],
                retry: RecipientRetry(recipients: ["bob@example.com"], at: t0 + .seconds(300)))),
        ], now: t0 + .seconds(1))
        return (id, mail, chat)
    }

    /// Given up on a recipient refused for now while the others have the page: the tier
    /// was paged, so it is not a failed page (`incidents` said `1, 1 page failed`; black-box
    /// round 29). A page that reached nobody is.
    func givingUpOnARefusedRecipientIsNotAFailedPage() async throws {
        let (id, mail, chat) = try await pageWithBobGreylisted()
        _ = try await store.claimDeliveries(now: t0 + .seconds(300), lease: .seconds(60), limit: 10, quota: .none)
        try await store.recordDeliveries([
            DeliveryRecord(id: mail.id, outcome: .failed(reason: "not delivered to bob@example.com: gave up; the other recipients have it")),
        ], now: t0 + .seconds(301))
        var incident = try #require(try await store.incident(id: id)).incident
        #expect(try await store.undeliveredPages(of: [incident]).isEmpty)
        try await store.recordDeliveries([DeliveryRecord(id: chat.id, outcome: .failed(reason: "HTTP 400"))], now: t0 + .seconds(302))
        incident = try #require(try await store.incident(id: id)).incident
        #expect(try await store.undeliveredPages(of: [incident])[id]?.failed == 1)
        #expect(try await store.nextDeliveryDue(excluding: []) == nil)
    }

    /// A page an acknowledgement overtook is done: on the timeline once, never handed out
    /// again; one only waiting to go to a greylisted recipient says that the others have it.
    func aCancelledPageIsRecordedAndNotHandedOutAgain() async throws {
        let (id, mail, chat) = try await pageWithBobGreylisted()
        let reason = "the incident was acknowledged by alice first"
        let cancelled = [DeliveryRecord(id: chat.id, outcome: .cancelled(reason: reason)),
                         DeliveryRecord(id: mail.id, outcome: .cancelled(reason: reason))]
        try await store.recordDeliveries(cancelled, now: t0 + .seconds(5))
        try await store.recordDeliveries(cancelled, now: t0 + .seconds(6))  // a second record of a done row changes nothing
        #expect(try await store.claimDeliveries(now: t0 + .seconds(3600), lease: .seconds(60), limit: 10, quota: .none).isEmpty)
        #expect(try await store.nextDeliveryDue(excluding: []) == nil)
        let lines = try #require(try await store.incidentDetails(ids: [id])[id]).timeline
            .filter { $0.kind == .paged && $0.at > t0 }.map { $0.detail ?? "" }
        #expect(lines.sorted() == [
            "tier 1 via console: page not sent: \(reason)",
            "tier 1 via noc-email: not sent again to bob@example.com: \(reason)",
        ])
    }

    /// An attempt cut short by a crash records nothing; the next attempt's failure is then
    /// the first on the timeline, so a later "delivered on attempt 3" never stands alone.
    func theFirstRecordedFailureIsOnTheTimelineAfterACrash() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        _ = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10, quota: .none)  // then the process died
        let again = try await store.claimDeliveries(now: t0 + .seconds(60), lease: .seconds(60), limit: 10, quota: .none)
        #expect(again.map(\.attempts) == [2, 2])
        let chat = try #require(again.first { $0.connector == "console" })
        try await store.recordDeliveries([DeliveryRecord(id: chat.id, outcome: .retry(at: t0 + .seconds(70), reason: "HTTP 503"))],
                                         now: t0 + .seconds(61))
        _ = try await store.claimDeliveries(now: t0 + .seconds(70), lease: .seconds(60), limit: 10, quota: .none)
        try await store.recordDeliveries([DeliveryRecord(id: chat.id, outcome: .retry(at: t0 + .seconds(80), reason: "HTTP 503"))],
                                         now: t0 + .seconds(71))
        _ = try await store.claimDeliveries(now: t0 + .seconds(80), lease: .seconds(60), limit: 10, quota: .none)
        try await store.recordDeliveries([DeliveryRecord(id: chat.id, outcome: .delivered)], now: t0 + .seconds(81))
        let lines = try #require(try await store.incidentDetails(ids: [id])[id]).timeline
            .filter { $0.at > t0 && $0.detail?.contains("via console") == true }.map { $0.detail ?? "" }
        #expect(lines == ["tier 1 via console: HTTP 503; retrying", "tier 1 via console: delivered the page on attempt 4"])
    }

    /// A page waiting out its connector's back-off is made due at once when a page to that
    /// connector is delivered, whichever instance recorded either, and they are claimed
    /// oldest first. One claimed since (in flight, here or on another instance), one a
    /// receiver told to wait (`Retry-After`) and another connector's are not, so nothing is
    /// handed out twice or early.
    func aDeliveryEndsTheBackoffsOfItsConnector() async throws {
        for key in ["a", "b", "c", "d", "e"] { _ = try await store.ingest([Self.routed("edge-01", key: key)], now: t0) }
        let claimed = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 20, quota: .none)
        let console = claimed.filter { $0.connector == "console" }
        let mail = claimed.filter { $0.connector == "noc-email" }
        #expect(console.count == 5 && mail.count == 5)
        try await store.recordDeliveries([
            DeliveryRecord(id: console[0].id, outcome: .retry(at: t0 + .seconds(300), reason: "HTTP 503"), waitsOutBackoff: true),
            DeliveryRecord(id: console[1].id, outcome: .retry(at: t0 + .seconds(120), reason: "HTTP 503"), waitsOutBackoff: true),
            DeliveryRecord(id: console[2].id, outcome: .retry(at: t0 + .seconds(5), reason: "HTTP 503"), waitsOutBackoff: true),
            DeliveryRecord(id: console[3].id, outcome: .retry(at: t0 + .seconds(300), reason: "HTTP 429")),
            DeliveryRecord(id: mail[0].id, outcome: .retry(at: t0 + .seconds(300), reason: "421 try later"), waitsOutBackoff: true),
        ], now: t0 + .seconds(1))
        // The third is claimed again (in flight until its lease ends) before the connector delivers again.
        let leased = try await store.claimDeliveries(now: t0 + .seconds(5), lease: .seconds(60), limit: 20, quota: .none)
        #expect(leased.map(\.id) == [console[2].id])
        let madeDue = try await store.recordDeliveries([DeliveryRecord(id: console[4].id, outcome: .delivered)], now: t0 + .seconds(10))
        #expect(madeDue == 2)
        let due = try await store.claimDeliveries(now: t0 + .seconds(10), lease: .seconds(60), limit: 20, quota: .none)
        #expect(due.map(\.id) == [console[0].id, console[1].id], "oldest first, whatever their back-off")
        // Nothing of the connector waits out a back-off any more.
        #expect(try await store.recordDeliveries([DeliveryRecord(id: console[2].id, outcome: .delivered)], now: t0 + .seconds(11)) == 0)
        #expect(try await store.nextDeliveryDue(excluding: []) == t0 + .seconds(60), "the first claim's lease on the other mail rows")
        #expect(try await store.nextDeliveryDue(excluding: ["noc-email"]) == t0 + .seconds(70), "the second claim's lease")
    }

    /// A claim gives no connector more than its room (a hung receiver's backlog must not
    /// take the dispatcher's every slot), and leaves out the rows of one with none.
    func aClaimKeepsEachConnectorWithinItsRoom() async throws {
        for key in ["a", "b", "c"] { _ = try await store.ingest([Self.routed("edge-01", key: key)], now: t0) }
        // Rows in order: a's console and noc-email, then b's, then c's. Console has room for one.
        let first = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10,
                                                    quota: ClaimQuota(perConnector: 2, inFlight: ["console": 1, "idle": 0]))
        #expect(first.map(\.connector) == ["console"])
        let second = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10,
                                                     quota: ClaimQuota(perConnector: 2, inFlight: ["console": 2]))
        #expect(second.map(\.connector) == ["noc-email", "noc-email", "noc-email"], "console full: left out; noc-email not capped")
        #expect(try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10,
                                                quota: ClaimQuota(perConnector: 2, inFlight: ["console": 2, "noc-email": 2])).isEmpty)
        #expect(try await store.nextDeliveryDue(excluding: ["console", "noc-email"]) == nil)
        #expect(try await store.nextDeliveryDue(excluding: ["noc-email"]) == t0)
        let rest = try await store.claimDeliveries(now: t0, lease: .seconds(60), limit: 10, quota: .none)
        #expect(rest.map(\.connector) == ["console", "console"])
    }

    /// An edge alert a PoP-down incident inhibits is held, not forgotten: it pages once
    /// that incident is resolved and the edge alert still fires.
    func anInhibitedIncidentPagesOnceItsInhibitorResolves() async throws {
        func claimed(_ now: Timestamp) async throws -> [String] {
            try await store.claimDeliveries(now: now, lease: .seconds(86_400), limit: 100, quota: .none)
                .map { "\($0.incidentID):\($0.event.rawValue):\($0.tier)" }.sorted()
        }
        let context = EscalationContext(rules: try Self.popDownInhibitsEdge())
        let down = Self.popDown()
        var edge = Self.routed("edge-01")
        edge.inhibitors = [InhibitCandidate(sourceRule: "pop-down", equal: ["pop"])]
        let source = try #require(try await store.ingest([down], now: t0)[0].incidentID)
        let outcome = try await store.ingest([edge], now: t0 + .seconds(1))[0]
        #expect(outcome.kind == .suppressed)
        let target = try #require(outcome.incidentID)
        #expect(try await claimed(t0 + .seconds(1)) == ["\(source):triggered:1", "\(source):triggered:1"])

        // PopDown still open a minute on: nobody is paged for the edge incident.
        #expect(try await store.advanceEscalations(now: t0 + .seconds(61), limit: 10, context: context).pages == 0)
        #expect(try await store.incident(id: target)?.incident.nextEscalationAt == t0 + .seconds(121))
        _ = try await store.act(.resolve(by: "alice", note: "fibre repaired"), on: source, now: t0 + .seconds(90))
        _ = try await claimed(t0 + .seconds(90))  // the resolve notices
        // A minute after it resolved, not at the next look: the edge alert's own recovery
        // lags the PoP's, and may yet come (black-box round 29).
        #expect(try await store.advanceEscalations(now: t0 + .seconds(121), limit: 10, context: context).pages == 0)
        #expect(try await store.incident(id: target)?.incident.nextEscalationAt == t0 + .seconds(150))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(150), limit: 10, context: context).pages == 1)  // tier 1, two targets
        #expect(try await claimed(t0 + .seconds(150)) == ["\(target):triggered:1", "\(target):triggered:1"])
        let timeline = try #require(try await store.incidentDetails(ids: [target])[target]).timeline.map(\.detail)
        #expect(timeline.contains("suppressed: inhibited by incident \(source) (PopDown/ICN1)"))
        #expect(timeline.contains("incident \(source) (PopDown/ICN1), which inhibited this one, is resolved, and this one is still open: paging"))
    }

    /// PoP down inhibits the edge alerts of its PoP, as the shipped rules say.
    static func popDownInhibitsEdge() throws -> RuleSet {
        RuleSet(rules: [
            Rule(name: "pop-down", matchers: [try Matcher(parsing: "alertname = PopDown")], policy: "pop-outage",
                 inhibit: Rule.Inhibit(targets: [try Matcher(parsing: "alertname =~ Edge.*")], equal: ["pop"])),
            Rule(name: "latency", matchers: [try Matcher(parsing: "alertname = EdgeLatencyHigh")], policy: "cdn-performance"),
        ])
    }

    /// A probe sent ICN1's latency 3 s before its PoP-down (black-box round 29: an edge alert
    /// that lands first paged tier 1 for a symptom). With the pop-down rule's `wait: 10s`,
    /// the latency incident pages nobody at once; at the wait's end the engine finds the
    /// PoP-down incident and holds it, as if it had been open when the alert came. Another
    /// PoP's latency, which nothing inhibits, pages tier 1 at its wait's end.
    func aNewTargetWaitsForAnInhibitorToOpen() async throws {
        func claimed(_ now: Timestamp) async throws -> [String] {
            try await store.claimDeliveries(now: now, lease: .seconds(86_400), limit: 100, quota: .none).map { "\($0.incidentID):\($0.event.rawValue)" }
        }
        var rules = try Self.popDownInhibitsEdge().rules
        rules[0].inhibit?.wait = .seconds(10)
        let context = EscalationContext(rules: RuleSet(rules: rules))
        func waiting(_ alert: RoutedAlert) -> RoutedAlert {
            var alert = alert
            alert.inhibitors = context.rules.inhibitCandidates(of: alert.alert.labels, rule: alert.rule)
            return alert
        }
        let nrt = Self.routed("nrt-01", pop: "NRT1")
        let ids = try await store.ingest([waiting(Self.routed("edge-01")), waiting(nrt)], now: t0).compactMap(\.incidentID)
        let (target, other) = (ids[0], ids[1])
        #expect(try await claimed(t0).isEmpty, "nobody is paged during the wait")
        let opened = try #require(try await store.incident(id: target))
        #expect(opened.incident.nextEscalationAt == t0 + .seconds(10))
        let step = try #require(opened.policy.flatMap { EscalationPlanner.nextStep(opened.incident, policy: $0) })
        #expect(step.action == .awaitsInhibitor(tier1: "technical-support") && step.at == t0 + .seconds(10) && step.timer == .seconds(10))

        let source = try #require(try await store.ingest([Self.popDown()], now: t0 + .seconds(3))[0].incidentID)
        // `show` already names it.
        #expect(try await store.openInhibitors(of: opened, rules: context.rules).map(\.id) == [source])
        #expect(try await store.advanceEscalations(now: t0 + .seconds(9), limit: 10, context: context).advanced == 0)
        let report = try await store.advanceEscalations(now: t0 + .seconds(10), limit: 10, context: context)
        #expect(report.advanced == 2 && report.pages == 1, "NRT1's tier 1 only")
        #expect(try await claimed(t0 + .seconds(10)).filter { $0.hasPrefix("\(target):") }.isEmpty)
        let held = try #require(try await store.incident(id: target))
        #expect(held.incident.escalation.inhibitedBy == [source] && !held.incident.escalation.hasPaged)
        #expect(held.incident.nextEscalationAt == t0 + .seconds(70))
        #expect(held.timeline.map(\.detail).contains(
            "incident \(source) (PopDown/ICN1), which inhibits this one, opened in the 10s it waited (inhibit wait): nobody is paged while it is open"))
        let paged = try #require(try await store.incident(id: other))
        #expect(paged.incident.escalation.hasPaged && paged.incident.escalation.inhibitWaitFrom == nil)
        #expect(paged.timeline.map(\.detail).contains("no incident that inhibits every alert of it opened in the 10s it waited (inhibit wait): paging"))
    }

    /// What the end of an inhibit wait looks at besides an open PoP-down (black-box round 30):
    /// - a restart: the wait is whole from the start, so a PoP-down its probe retried while
    ///   alertbridge was down still holds the symptom;
    /// - a PoP that blinked within the wait: held until a minute after it came back, in case
    ///   the symptom recovers with it, then paged since it did not;
    /// - an incident other PoPs' alerts share (an origin's): paged, since one of its alerts
    ///   is inhibited by nothing.
    func anInhibitWaitsEndLooksAtRestartsBlinksAndEveryAlert() async throws {
        var rules = try Self.popDownInhibitsEdge().rules
        rules[0].inhibit?.wait = .seconds(10)
        func alert(_ pop: String, key: String, name: String = "EdgeLatencyHigh", rule: String = "latency") -> RoutedAlert {
            var alert = Self.routed("\(pop.lowercased())-edge-01", pop: pop, key: key)
            alert.alert.labels["alertname"] = name
            alert.rule = rule
            alert.inhibitors = RuleSet(rules: rules).inhibitCandidates(of: alert.alert.labels, rule: rule)
            return alert
        }
        func down(_ pop: String, _ status: AlertStatus = .firing) -> RoutedAlert {
            var down = Self.popDown()
            down.alert.labels["pop"] = pop
            down.dedupKey = "PopDown/\(pop)"
            down.alert.status = status
            return down
        }
        let restarted = try #require(try await store.ingest([alert("AMS1", key: "E/AMS1")], now: t0)[0].incidentID)
        let blinked = try #require(try await store.ingest([alert("K1", key: "E/K1")], now: t0)[0].incidentID)
        // OriginUnreachable from OX, then from OY, into one incident; OX goes down.
        let shared = try #require(try await store.ingest([alert("OX", key: "Origin/O1", name: "EdgeOriginDown")], now: t0)[0].incidentID)
        _ = try await store.ingest([alert("OY", key: "Origin/O1", name: "EdgeOriginDown")], now: t0 + .seconds(2))
        _ = try await store.ingest([down("K1"), down("OX")], now: t0 + .seconds(2))
        _ = try await store.ingest([down("K1", .resolved)], now: t0 + .seconds(7))

        // alertbridge stopped at t0 + 3 s and started at t0 + 15 s: AMS1's wait runs to t0 + 25 s.
        let context = EscalationContext(startedAt: t0 + .seconds(15), rules: RuleSet(rules: rules))
        _ = try await store.advanceEscalations(now: t0 + .seconds(15), limit: 10, context: context)
        #expect(try await store.incident(id: restarted)?.incident.nextEscalationAt == t0 + .seconds(25))
        let amsDown = try #require(try await store.ingest([down("AMS1")], now: t0 + .seconds(16))[0].incidentID)
        _ = try await store.advanceEscalations(now: t0 + .seconds(25), limit: 10, context: context)
        let ams = try #require(try await store.incident(id: restarted))
        #expect(ams.incident.escalation.inhibitedBy == [amsDown] && !ams.incident.escalation.hasPaged)
        #expect(ams.timeline.contains { $0.detail == "incident \(amsDown) (PopDown/AMS1), which inhibits this one, opened in the 25s it waited "
            + "(inhibit wait 10s, counted again from alertbridge's start): nobody is paged while it is open" }, "\(ams.timeline.map(\.detail))")

        // K1 blinked: held until a minute after its PoP-down resolved (t0 + 67 s), then paged.
        let k1 = try #require(try await store.incident(id: blinked))
        #expect(!k1.incident.escalation.hasPaged && k1.incident.nextEscalationAt == t0 + .seconds(67), "\(k1.timeline.map(\.detail))")
        #expect(k1.timeline.last?.detail?.hasSuffix("and resolved at \(RFC3339.format(t0 + .seconds(7))): nobody is paged before "
            + "\(RFC3339.format(t0 + .seconds(67))), in case this one recovers with it") == true, "\(k1.timeline.map(\.detail))")
        // The origin's incident holds OY's alert, which nothing inhibits: paged at its wait's end.
        #expect(try await store.incident(id: shared)?.incident.escalation.hasPaged == true)
        let report = try await store.advanceEscalations(now: t0 + .seconds(67), limit: 10, context: context)
        #expect(report.pages == 1)
        #expect(try await store.incident(id: blinked)?.incident.escalation.hasPaged == true)
    }

    /// An origin's incident that alerts from several PoPs share is held only while every one
    /// of its firing alerts is inhibited (black-box round 37): a down PoP's alert that merges
    /// during its inhibit wait does not hold it while another PoP's alert fires, nor does
    /// its first alert's PoP going down hold its next tier.
    func anOriginIncidentIsHeldOnlyWhileEveryReportingPoPIsDown() async throws {
        var rules = try Self.popDownInhibitsEdge().rules
        rules[0].inhibit?.wait = .seconds(10)
        let context = EscalationContext(rules: RuleSet(rules: rules))
        func origin(_ key: String, from pop: String) -> RoutedAlert { Self.origin(key, from: pop, rules: context.rules) }
        func down(_ pop: String) -> RoutedAlert { Self.popDown(at: pop) }
        // ZZ1 is down; ZZ2, which is up, reports the origin first, then ZZ1 does.
        _ = try await store.ingest([down("ZZ1")], now: t0)
        let first = try #require(try await store.ingest([origin("Origin/O1", from: "ZZ2")], now: t0 + .seconds(1))[0].incidentID)
        #expect(try await store.ingest([origin("Origin/O1", from: "ZZ1")], now: t0 + .seconds(2))[0].kind == .suppressed,
                "ZZ1's own alert is inhibited")
        let report = try await store.advanceEscalations(now: t0 + .seconds(11), limit: 10, context: context)
        #expect(report.pages == 1, "tier 1 at the wait's end: ZZ2's alert fires, and nothing inhibits it")
        #expect(try await store.incident(id: first)?.incident.escalation.hasPaged == true)

        // FA reports an origin, then FB does; paged at the wait's end. Then FA goes down: its
        // alert is inhibited, FB's is not, so tier 2 is paged on time.
        let second = try #require(try await store.ingest([origin("Origin/O2", from: "FA")], now: t0)[0].incidentID)
        _ = try await store.ingest([origin("Origin/O2", from: "FB")], now: t0 + .seconds(1))
        _ = try await store.advanceEscalations(now: t0 + .seconds(10), limit: 10, context: context)
        #expect(try await store.incident(id: second)?.incident.escalation.hasPaged == true)
        let fa = try #require(try await store.ingest([down("FA")], now: t0 + .seconds(60))[0].incidentID)
        #expect(try await store.openInhibitors(of: try #require(try await store.incident(id: second)), rules: context.rules).isEmpty,
                "show: nothing holds its next tier")
        _ = try await store.advanceEscalations(now: t0 + .seconds(910), limit: 10, context: context)
        let tier2 = try #require(try await store.incident(id: second))
        #expect(tier2.incident.tier == 2, "\(tier2.timeline.compactMap(\.detail))")
        // Both down: every alert of it is inhibited, and its next step waits for them.
        let fb = try #require(try await store.ingest([down("FB")], now: t0 + .seconds(920))[0].incidentID)
        #expect(try await store.openInhibitors(of: try #require(try await store.incident(id: second)), rules: context.rules).map(\.id)
                == [fa, fb])

        // PA is down and reports an origin first: held. PB, up, reports it 2 s later: it waits
        // 10 s for PB's PoP-down, as in the other order, then pages (black-box round 38: it
        // paged at once).
        let t1 = t0 + .seconds(1000)
        _ = try await store.ingest([down("PA")], now: t1)
        let third = try #require(try await store.ingest([origin("Origin/O3", from: "PA")], now: t1)[0].incidentID)
        #expect(try await store.ingest([origin("Origin/O3", from: "PB")], now: t1 + .seconds(2))[0].kind == .merged)
        let waiting = try #require(try await store.incident(id: third)).incident
        #expect(!waiting.escalation.hasPaged && waiting.escalation.inhibitWaitFrom == t1 + .seconds(2)
                && waiting.escalation.inhibitedBy.isEmpty && waiting.nextEscalationAt == t1 + .seconds(12))
        _ = try await store.advanceEscalations(now: t1 + .seconds(12), limit: 10, context: context)
        #expect(try await store.incident(id: third)?.incident.escalation.hasPaged == true)

        // The same when a silence held it: SA's alert is silenced, SB's is not, and SB's
        // PoP-down may be seconds behind it.
        let t2 = t0 + .seconds(2000)
        _ = try await store.createSilence(try silence("pop = SA", from: t2, to: t2 + .seconds(3600)))
        let fourth = try #require(try await store.ingest([origin("Origin/O4", from: "SA")], now: t2)[0].incidentID)
        _ = try await store.ingest([origin("Origin/O4", from: "SB")], now: t2 + .seconds(2))
        let silenced = try #require(try await store.incident(id: fourth)).incident
        #expect(!silenced.escalation.hasPaged && silenced.escalation.inhibitWaitFrom == t2 + .seconds(2)
                && silenced.nextEscalationAt == t2 + .seconds(12))
        _ = try await store.advanceEscalations(now: t2 + .seconds(12), limit: 10, context: context)
        #expect(try await store.incident(id: fourth)?.incident.escalation.hasPaged == true)
    }

    /// A rule's `dedup_key` changed: at start its open incidents take the key it renders
    /// now, so their alerts merge into them (and recover them) rather than opening a second
    /// incident that pages (black-box round 40). Not onto a key an open incident has, or
    /// one a newer incident had: that key is taken already.
    func anOpenIncidentTakesItsRulesNewKey() async throws {
        let old = try #require(try await store.ingest([Self.popDown(at: "QA")], now: t0)[0].incidentID)
        #expect(try await store.rekey(old, to: "PopDown/emea/QA", because: "keyed anew", now: t0 + .seconds(5)))
        var again = Self.popDown(at: "QA")
        again.dedupKey = "PopDown/emea/QA"
        let merged = try await store.ingest([again], now: t0 + .seconds(10))[0]
        #expect(merged.kind == .merged && merged.incidentID == old)
        let detail = try #require(try await store.incident(id: old))
        #expect(detail.incident.dedupKey == "PopDown/emea/QA" && detail.timeline.compactMap(\.detail).contains("keyed anew"))
        again.alert.status = .resolved
        #expect(try await store.ingest([again], now: t0 + .seconds(20))[0].incidentID == old)
        #expect(try await store.incident(id: old)?.incident.status == .resolved)
        #expect(try await !store.rekey(old, to: "PopDown/QA", because: "resolved", now: t0 + .seconds(30)), "a resolved one keeps its key")

        // Taken keys: an open incident's, and a newer resolved one's.
        let open = try #require(try await store.ingest([Self.popDown(at: "QB")], now: t0)[0].incidentID)
        let other = try #require(try await store.ingest([Self.popDown(at: "QC")], now: t0)[0].incidentID)
        #expect(try await !store.rekey(other, to: "PopDown/QB", because: "taken", now: t0 + .seconds(5)))
        let newer = try #require(try await store.ingest([Self.popDown(at: "QD")], now: t0)[0].incidentID)
        _ = try await store.act(.resolve(by: "alice", note: nil), on: newer, now: t0 + .seconds(1))
        #expect(try await !store.rekey(other, to: "PopDown/QD", because: "taken", now: t0 + .seconds(5)))
        #expect(try await store.incident(id: other)?.incident.dedupKey == "PopDown/QC")
        #expect(try await store.incident(id: open)?.incident.dedupKey == "PopDown/QB")
    }

    /// The origin's incident that a PoP-down holds while its PoP is down stops being held
    /// when nothing inhibits every alert of it any more, whichever incidents it recorded:
    /// one of the two down PoPs that reported it is up again (a minute after, as any
    /// release), or the inhibit rule was removed (at once, said so) (black-box round 39).
    func aHeldIncidentIsReleasedWhenNothingInhibitsEveryAlertOfItNow() async throws {
        let context = EscalationContext(rules: try Self.popDownInhibitsEdge())
        let qa = try #require(try await store.ingest([Self.popDown(at: "QA")], now: t0)[0].incidentID)
        _ = try await store.ingest([Self.popDown(at: "QB")], now: t0)
        let held = try #require(try await store.ingest([Self.origin("Origin/O5", from: "QA", rules: context.rules)],
                                                       now: t0 + .seconds(1))[0].incidentID)
        #expect(try await store.ingest([Self.origin("Origin/O5", from: "QB", rules: context.rules)], now: t0 + .seconds(2))[0].incidentID
                == held)
        _ = try await store.act(.resolve(by: "alice", note: "QA is back"), on: qa, now: t0 + .seconds(30))
        // QA's alert of the origin still fires, and nothing inhibits it: paged a minute after QA's PoP-down resolved.
        #expect(try await store.advanceEscalations(now: t0 + .seconds(61), limit: 10, context: context).pages == 0)
        #expect(try await store.incident(id: held)?.incident.nextEscalationAt == t0 + .seconds(90))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(90), limit: 10, context: context).pages == 1)
        let released = try #require(try await store.incident(id: held))
        #expect(released.incident.escalation.hasPaged)
        #expect(released.timeline.compactMap(\.detail).contains(
            "incident \(qa) (PopDown/QA), which inhibited this one, is resolved, and this one is still open: paging"))

        // The inhibit rule removed (and alertbridge restarted) while RA is down: paged at the next look.
        let t1 = t0 + .seconds(1000)
        let ra = try #require(try await store.ingest([Self.popDown(at: "RA")], now: t1)[0].incidentID)
        var edge = Self.routed("ra-edge-01", pop: "RA")
        edge.inhibitors = context.rules.inhibitCandidates(of: edge.alert.labels, rule: edge.rule)
        let symptom = try #require(try await store.ingest([edge], now: t1 + .seconds(1))[0].incidentID)
        _ = try await store.advanceEscalations(now: t1 + .seconds(61), limit: 10, context: context)
        #expect(try await store.incident(id: symptom)?.incident.escalation.hasPaged == false, "still held")
        var rules = context.rules.rules
        rules[0].inhibit = nil
        let removed = EscalationContext(rules: RuleSet(rules: rules))
        _ = try await store.advanceEscalations(now: t1 + .seconds(121), limit: 10, context: removed)
        let stored = try #require(try await store.incident(id: symptom))
        #expect(stored.incident.escalation.hasPaged)
        #expect(stored.timeline.compactMap(\.detail).contains(
            "incident \(ra) (PopDown/RA) no longer inhibits every alert of this one by the rules loaded now, "
                + "and this one is still open: paging"), "\(stored.timeline.compactMap(\.detail))")
    }

    /// ICN1's PoP-down alert, routed by ``popDownInhibitsEdge()``'s first rule.
    static func popDown() -> RoutedAlert {
        var down = routed("pop", key: "PopDown/ICN1")
        down.alert.labels = ["alertname": "PopDown", "pop": "ICN1"]
        down.rule = "pop-down"
        return down
    }

    /// `pop`'s PoP-down alert.
    static func popDown(at pop: String) -> RoutedAlert {
        var down = popDown()
        down.alert.labels["pop"] = pop
        down.dedupKey = "PopDown/\(pop)"
        return down
    }

    /// An origin's alert from `pop`, which `rules`' PoP-down inhibits while `pop` is down.
    static func origin(_ key: String, from pop: String, rules: RuleSet) -> RoutedAlert {
        var alert = routed("\(pop.lowercased())-edge-01", pop: pop, key: key)
        alert.alert.labels["alertname"] = "EdgeOriginDown"
        alert.inhibitors = rules.inhibitCandidates(of: alert.alert.labels, rule: alert.rule)
        return alert
    }

    /// The symptom paged before its cause: ICN1's latency paged tier 1, then ICN1 went down.
    /// R&D is not paged for the latency while the PoP-down incident is open (Alertmanager
    /// mutes a firing target too); once it is resolved and the latency still fires, the
    /// waiting step is taken.
    func aPagingIncidentsNextTierWaitsWhileItsInhibitorIsOpen() async throws {
        let context = EscalationContext(rules: try Self.popDownInhibitsEdge())
        let target = try #require(try await store.ingest([Self.routed("edge-01")], now: t0)[0].incidentID)
        let down = Self.popDown()
        let source = try #require(try await store.ingest([down], now: t0 + .seconds(60))[0].incidentID)
        // What `show` says before tier 2's time: the step will wait for the PoP-down incident.
        let paging = try #require(try await store.incident(id: target))
        #expect(try await store.openInhibitors(of: paging, rules: context.rules).map(\.id) == [source])

        // Tier 1's 15 minutes ran out while ICN1 is down: nobody is paged, a minute later neither.
        #expect(try await store.advanceEscalations(now: t0 + .seconds(900), limit: 10, context: context).pages == 0)
        #expect(try await store.incident(id: target)?.incident.nextEscalationAt == t0 + .seconds(960))
        // What `show` says of it: its next step waits for the PoP-down incident.
        let held = try #require(try await store.incident(id: target))
        let waiting = try #require(held.policy.flatMap { EscalationPlanner.nextStep(held.incident, policy: $0) })
        #expect(waiting.action == .waitsForInhibitor([source]) && waiting.at == t0 + .seconds(960))
        _ = try await store.advanceEscalations(now: t0 + .seconds(960), limit: 10, context: context)  // ICN1's own tier 2
        #expect(try await store.incident(id: target)?.incident.tier == 1)
        _ = try await store.ingest([{ var r = down; r.alert.status = .resolved; return r }()], now: t0 + .seconds(1000))
        #expect(try await store.openInhibitors(of: paging, rules: context.rules).isEmpty)
        #expect(try await store.advanceEscalations(now: t0 + .seconds(1020), limit: 10, context: context).pages == 0)
        #expect(try await store.incident(id: target)?.incident.nextEscalationAt == t0 + .seconds(1060))
        let report = try await store.advanceEscalations(now: t0 + .seconds(1060), limit: 10, context: context)
        #expect(report.pages == 1)  // tier 2, R&D, a minute after ICN1 came back
        let detail = try #require(try await store.incident(id: target))
        #expect(detail.incident.tier == 2)
        #expect(detail.policy.flatMap { EscalationPlanner.nextStep(detail.incident, policy: $0) }?.action
            == .repeatPolicy(tier1: "technical-support", cycle: 1, of: 1))
        let lines = detail.timeline.filter { $0.kind == .escalated }.map { $0.detail ?? "" }
        #expect(lines == [
            "tier 2 (rnd) is not paged while incident \(source) (PopDown/ICN1), which inhibits this one, is open",
            "incident \(source) (PopDown/ICN1) no longer inhibits this one, which is still open: escalation goes on",
            "tier 1 (technical-support) did not acknowledge in time: paging tier 2 (rnd)",
        ])
        // Without rules (no inhibit), the step is not held: as before.
        let other = try #require(try await store.ingest([Self.routed("edge-01", key: "other")], now: t0)[0].incidentID)
        _ = try await store.ingest([down], now: t0 + .seconds(1100))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(1200), limit: 10, context: .init()).pages >= 1)
        #expect(try await store.incident(id: other)?.incident.tier == 2)
    }

    /// Its next tier held by the PoP-down incident, then acknowledged: the acknowledgement
    /// ends the held step, so the ack timeout comes at its own time and `show` names no
    /// inhibitor (black-box round 27: it kept naming one already resolved, and the timeout
    /// waited for the hold's next look).
    func anAcknowledgementEndsTheHoldOnItsNextTier() async throws {
        let context = EscalationContext(rules: try Self.popDownInhibitsEdge())
        let target = try #require(try await store.ingest([Self.routed("edge-01")], now: t0)[0].incidentID)
        let down = Self.popDown()
        _ = try await store.ingest([down], now: t0 + .seconds(60))
        _ = try await store.advanceEscalations(now: t0 + .seconds(900), limit: 10, context: context)
        #expect(try await store.incident(id: target)?.incident.escalation.inhibitedBy.isEmpty == false)
        let acked = try await store.act(.acknowledge(by: "alice", note: nil), on: target, now: t0 + .seconds(930))
        #expect(acked.escalation.inhibitedBy.isEmpty && acked.nextEscalationAt == t0 + .seconds(2730))
        let detail = try #require(try await store.incident(id: target))
        #expect(detail.policy.flatMap { EscalationPlanner.nextStep(detail.incident, policy: $0) }?.action == .ackTimeout(tier1: "technical-support"))
        // ICN1 is still down when the timeout comes: it waits for it, as any ack timeout does.
        _ = try await store.advanceEscalations(now: t0 + .seconds(2730), limit: 10, context: context)
        #expect(try await store.incident(id: target)?.incident.status == .acknowledged)
        _ = try await store.ingest([{ var r = down; r.alert.status = .resolved; return r }()], now: t0 + .seconds(2760))
        _ = try await store.advanceEscalations(now: t0 + .seconds(2790), limit: 10, context: context)
        #expect(try await store.incident(id: target)?.incident.status == .acknowledged)
        _ = try await store.advanceEscalations(now: t0 + .seconds(2820), limit: 10, context: context)
        #expect(try await store.incident(id: target)?.incident.status == .triggered)
    }

    /// Acknowledged, then its PoP went down: the ack timeout does not page the latency's
    /// tier 1 again while the PoP-down incident is open. It stays acknowledged and waits;
    /// once that one is resolved and the latency is still unresolved, tier 1 is paged.
    func anAckTimeoutWaitsWhileAnInhibitorIsOpen() async throws {
        let context = EscalationContext(rules: try Self.popDownInhibitsEdge())
        let target = try #require(try await store.ingest([Self.routed("edge-01")], now: t0)[0].incidentID)
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: target, now: t0 + .seconds(60))
        let down = Self.popDown()
        _ = try await store.ingest([down], now: t0 + .seconds(120))

        // ack_timeout (30m) ran out at 31m: held, looked at again a minute later.
        _ = try await store.advanceEscalations(now: t0 + .seconds(1860), limit: 10, context: context)
        var detail = try #require(try await store.incident(id: target))
        #expect(detail.incident.status == .acknowledged)
        #expect(detail.incident.nextEscalationAt == t0 + .seconds(1920))
        _ = try await store.advanceEscalations(now: t0 + .seconds(1920), limit: 10, context: context)
        #expect(try await store.incident(id: target)?.incident.status == .acknowledged)
        _ = try await store.ingest([{ var r = down; r.alert.status = .resolved; return r }()], now: t0 + .seconds(1950))
        _ = try await store.advanceEscalations(now: t0 + .seconds(1980), limit: 10, context: context)
        #expect(try await store.incident(id: target)?.incident.nextEscalationAt == t0 + .seconds(2010))
        _ = try await store.advanceEscalations(now: t0 + .seconds(2010), limit: 10, context: context)
        detail = try #require(try await store.incident(id: target))
        #expect(detail.incident.status == .triggered && detail.incident.tier == 1)
        let lines = detail.timeline.filter { $0.kind == .escalated }.map { $0.detail ?? "" }
        #expect(lines.first == "acknowledged by alice but unresolved after 30m (ack_timeout): tier 1 (technical-support) is not paged "
                + "while incident \(target + 1) (PopDown/ICN1), which inhibits this one, is open", "\(lines)")
        #expect(lines.dropFirst() == ["incident \(target + 1) (PopDown/ICN1) no longer inhibits this one, which is still unresolved",
                                      "acknowledged by alice but unresolved after 30m (ack_timeout): back to triggered"],
                "said once while held, then why it goes on: \(lines)")
        let pagedAgain = try await store.claimDeliveries(now: t0 + .seconds(2010), lease: .seconds(60), limit: 50, quota: .none)
            .filter { $0.incidentID == target && $0.event == .ackTimeout }
        #expect(pagedAgain.map(\.tier) == [1, 1])
    }

    /// A PagerDuty event's alert is its key (`TOKEN/KEY`), not a hash of its labels: a
    /// later trigger with another `component` updates the stored labels, on every store
    /// (SQLite kept the first ones, PostgreSQL the last).
    func anAlertKeyedByItsSenderKeepsItsLatestLabels() async throws {
        func event(_ component: String) -> RoutedAlert {
            var r = Self.routed("srv01", key: "srv01-disk")
            r.alert = Alert(source: "pagerduty", status: .firing, severity: .critical, summary: "disk 95%",
                            labels: ["source": "srv01", "component": component], fingerprint: "team-a/srv01-disk")
            return r
        }
        let id = try #require(try await store.ingest([event("disk")], now: t0)[0].incidentID)
        _ = try await store.ingest([event("var-cache")], now: t0 + .seconds(60))
        let alerts = try #require(try await store.incident(id: id)).alerts
        #expect(alerts.map { $0.labels["component"] } == ["var-cache"])
    }

    /// A rise in severity that the rule's `severity_policies` maps to another policy: the
    /// incident is stored under that policy and escalates by it.
    func aRiseInSeverityRunsTheSeverityPolicy() async throws {
        let outage = EscalationPolicy(name: "pop-outage", tiers: [
            .init(name: "noc-phone", notify: [.init(connector: "console")], escalateAfter: .seconds(300)),
            .init(name: "rnd-phone", notify: [.init(connector: "rnd-chat")], escalateAfter: .seconds(300)),
        ])
        let id = try #require(try await store.ingest([Self.routed("a", severity: .warning)], now: t0)[0].incidentID)
        _ = try await store.claimDeliveries(now: t0, lease: .seconds(86_400), limit: 100, quota: .none)
        var critical = Self.routed("a", severity: .critical)
        critical.policy = outage.name
        critical.escalationPolicy = outage
        critical.severityPolicies = [.critical: outage, .error: Self.policy, .warning: Self.policy, .info: Self.policy]
        #expect(try await store.ingest([critical], now: t0 + .seconds(60))[0].kind == .merged)
        let stored = try #require(try await store.incident(id: id)?.incident)
        #expect(stored.policy == "pop-outage" && stored.severity == .critical)
        #expect(try await store.claimDeliveries(now: t0 + .seconds(60), lease: .seconds(86_400), limit: 100, quota: .none)
            .map { "\($0.tierName):\($0.event.rawValue)" } == ["noc-phone:severity_raised"])
        // Five minutes on (not cdn-performance's fifteen), its tier 2 is paged.
        _ = try await store.advanceEscalations(now: t0 + .seconds(360), limit: 10, context: .init())
        #expect(try await store.claimDeliveries(now: t0 + .seconds(360), lease: .seconds(86_400), limit: 100, quota: .none)
            .map(\.tierName) == ["rnd-phone"])
        // The resolve notice reaches whom either policy paged, each target once: the
        // warning policy's noc-email too, which shares tier number 1 with noc-phone.
        _ = try await store.act(.resolve(by: "alice", note: nil), on: id, now: t0 + .seconds(400))
        #expect(try await store.claimDeliveries(now: t0 + .seconds(400), lease: .seconds(86_400), limit: 100, quota: .none)
            .map { "\($0.event.rawValue):\($0.tier):\($0.tierName):\($0.connector)" }.sorted() == [
                "resolved:1:noc-phone:console", "resolved:1:technical-support:noc-email", "resolved:2:rnd-phone:rnd-chat",
            ])
    }

    /// An acknowledgement whose clock reading came before tier 2's deadline but whose
    /// write came after the engine paged tier 2 (a wait for a connection, or another
    /// instance's clock a little behind): tier 2's page is overtaken, not sent.
    func anAckCommittedAfterTheNextTiersPageOvertakesIt() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        _ = try await store.claimDeliveries(now: t0, lease: .seconds(86_400), limit: 100, quota: .none)
        _ = try await store.advanceEscalations(now: t0 + .seconds(900), limit: 10, context: .init())
        let acked = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: t0 + .milliseconds(899_900))
        #expect(acked.acknowledgedAt == t0 + .seconds(900))
        let page = try #require(try await store.claimDeliveries(now: t0 + .seconds(900), lease: .seconds(60), limit: 100, quota: .none)
            .first { $0.event == .escalated })
        #expect(page.overtaken(by: acked) == "the incident was acknowledged by alice first")
    }

    /// Tier 2's page waits out a dead instance's lease; meanwhile the incident is
    /// acknowledged and its ack times out. The page the acknowledgement answered is not
    /// sent (it went out after the ack timeout's own page, so tier 2 got two pages in
    /// seconds, the first saying tier 1); the ack timeout's page is.
    func aPageAnsweredByAnAckThatTimedOutIsNotSent() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        _ = try await store.claimDeliveries(now: t0, lease: .seconds(86_400), limit: 100, quota: .none)
        _ = try await store.advanceEscalations(now: t0 + .seconds(900), limit: 10, context: .init())
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: t0 + .seconds(950))
        let timedOut = t0 + .seconds(950 + 1800)
        _ = try await store.advanceEscalations(now: timedOut, limit: 10, context: .init())
        let incident = try #require(try await store.incident(id: id)?.incident)
        #expect(incident.status == .triggered)
        let claimed = try await store.claimDeliveries(now: timedOut, lease: .seconds(60), limit: 100, quota: .none)
        let escalated = try #require(claimed.first { $0.event == .escalated })
        #expect(escalated.overtaken(by: incident)?.hasPrefix("the incident was acknowledged first") == true)
        let repaged = claimed.filter { $0.event == .ackTimeout }
        #expect(!repaged.isEmpty && repaged.allSatisfy { $0.overtaken(by: incident) == nil }, "\(claimed)")
    }

    /// Every page and notice of each episode reaches the outbox: a reopened incident's
    /// steps continue from the earlier episode's, so none collides with an old row. A flap
    /// nobody acknowledged takes up its escalation where it was: R&D, paged last, is paged
    /// for the reopen, and the repeat is due 30 minutes after R&D's page, not after the
    /// reopen. One someone had acknowledged starts again from tier 1. Either way every tier
    /// that heard it resolve hears that it is back.
    func aReopenedIncidentPagesEveryTierAgain() async throws {
        func claimed(_ now: Timestamp) async throws -> [String] {
            try await store.claimDeliveries(now: now, lease: .seconds(86_400), limit: 100, quota: .none)
                .map { "\($0.event.rawValue):\($0.tier)" }.sorted()
        }
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        #expect(try await claimed(t0) == ["triggered:1", "triggered:1"])
        _ = try await store.advanceEscalations(now: t0 + .seconds(900), limit: 10, context: .init())
        #expect(try await claimed(t0 + .seconds(900)) == ["escalated:2"])

        _ = try await store.ingest([Self.routed("a", .resolved)], now: t0 + .seconds(1000))
        #expect(try await claimed(t0 + .seconds(1000)) == ["resolved:1", "resolved:1", "resolved:2"])
        #expect(try await store.ingest([Self.routed("a")], now: t0 + .seconds(1060)).map(\.kind) == [.reopened])
        #expect(try await claimed(t0 + .seconds(1060)) == ["reopened:1", "reopened:1", "reopened:2"])
        var incident = try #require(try await store.incident(id: id)?.incident)
        #expect(incident.tier == 2 && incident.nextEscalationAt == t0 + .seconds(900 + 1800))
        _ = try await store.advanceEscalations(now: t0 + .seconds(2700), limit: 10, context: .init())
        #expect(try await claimed(t0 + .seconds(2700)) == ["repeated:1", "repeated:1"])

        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: t0 + .seconds(2800))
        _ = try await claimed(t0 + .seconds(2800))
        _ = try await store.ingest([Self.routed("a", .resolved)], now: t0 + .seconds(2900))
        _ = try await claimed(t0 + .seconds(2900))
        _ = try await store.ingest([Self.routed("a")], now: t0 + .seconds(2960))
        #expect(try await claimed(t0 + .seconds(2960)) == ["reopened:1", "reopened:1", "reopened:2"])
        incident = try #require(try await store.incident(id: id)?.incident)
        #expect(incident.tier == 1 && incident.escalation.cycle == 0 && incident.nextEscalationAt == t0 + .seconds(2960 + 900))
        _ = try await store.advanceEscalations(now: t0 + .seconds(2960 + 900), limit: 10, context: .init())
        #expect(try await claimed(t0 + .seconds(2960 + 900)) == ["escalated:2"])
        #expect(try await store.incident(id: id)?.incident.escalation.step == 6)
    }

    func silence(_ matcher: String, from start: Timestamp, to end: Timestamp) throws -> Silence {
        Silence(matchers: [try Matcher(parsing: matcher)], startsAt: start, endsAt: end, createdBy: "alice",
                comment: "ICN1 fibre maintenance", createdAt: t0)
    }

    func silencesAreListedByStatusAndExpired() async throws {
        let now = t0 + .seconds(600)
        let active = try await store.createSilence(try silence("pop = ICN1", from: t0, to: t0 + .seconds(7200)))
        let pending = try await store.createSilence(try silence(#"alertname =~ "Edge.*""#, from: t0 + .seconds(3600), to: t0 + .seconds(10_800)))
        #expect(active.id > 0 && pending.id > active.id)
        func listed(_ status: SilenceQuery.StatusFilter, at time: Timestamp = t0 + .seconds(600)) async throws -> [Int64] {
            try await store.silences(SilenceQuery(status: status, now: time)).map(\.id)
        }
        #expect(try await listed(.current) == [pending.id, active.id])
        #expect(try await listed(.active) == [active.id])
        #expect(try await listed(.pending) == [pending.id])
        #expect(try await listed(.expired) == [])
        let stored = try #require(try await store.silences(SilenceQuery(status: .pending, now: now)).first)
        #expect(stored.matchers == pending.matchers)
        #expect(stored.startsAt == pending.startsAt && stored.endsAt == pending.endsAt)
        #expect(stored.createdBy == "alice" && stored.comment == "ICN1 fibre maintenance" && stored.expiredBy == nil)

        let expired = try await store.expireSilence(id: active.id, by: "bob", now: now)
        #expect(expired.endsAt == now && expired.expiredBy == "bob")
        #expect(try await listed(.current) == [pending.id])
        #expect(try await store.silences(SilenceQuery(status: .expired, now: now)).map(\.expiredBy) == ["bob"])
        await #expect(throws: Silence.Refusal.alreadyExpired(active.id, now)) {
            try await store.expireSilence(id: active.id, by: "bob", now: now + .seconds(1))
        }
        await #expect(throws: StoreError.silenceNotFound(999)) {
            try await store.expireSilence(id: 999, by: "bob", now: now)
        }
        #expect(try await listed(.all, at: now) == [pending.id, active.id])
    }

    /// A maintenance window on ICN1: its alert opens an incident that pages nobody; when
    /// the window ends with the incident still open, tier 1 is paged.
    func aSilencedIncidentPagesWhenItsSilenceEnds() async throws {
        func claimed(_ now: Timestamp) async throws -> [String] {
            try await store.claimDeliveries(now: now, lease: .seconds(86_400), limit: 100, quota: .none).map { "\($0.event.rawValue):\($0.tier)" }
        }
        let end = t0 + .seconds(3600)
        _ = try await store.createSilence(try silence("pop = ICN1", from: t0, to: end))
        let out = try await store.ingest([Self.routed("a")], now: t0 + .seconds(60))
        #expect(out.map(\.kind) == [.suppressed])
        let id = try #require(out[0].incidentID)
        #expect(try await claimed(t0 + .seconds(60)) == [])
        #expect(try await store.nextEscalationDue() == end)
        #expect(try await store.advanceEscalations(now: end - .seconds(1), limit: 10, context: .init()).advanced == 0)
        let report = try await store.advanceEscalations(now: end, limit: 10, context: .init())
        #expect(report.pages == 1)
        #expect(try await claimed(end) == ["triggered:1", "triggered:1"])
        let details = try #require(try await store.incident(id: id)).timeline.compactMap(\.detail)
        #expect(details.contains { $0.hasPrefix("suppressed: silenced by silence") })
        #expect(details.contains("no silence holds this incident any more and it is still open: paging"))
    }

    /// The on-call rotation changed during a maintenance window: the incident the window
    /// held pages the rotation as loaded when the window ends, and after a rule re-pointed
    /// to another policy, that policy; one already paging keeps its copy (black-box round 39).
    func aHeldIncidentPagesByItsPolicyAsLoadedWhenFirstPaged() async throws {
        let end = t0 + .seconds(3600)
        _ = try await store.createSilence(try silence("pop = ICN1", from: t0, to: end))
        let held = try #require(try await store.ingest([Self.routed("a")], now: t0 + .seconds(60))[0].incidentID)
        let other = Self.routed("b", pop: "NRT1")
        let paging = try #require(try await store.ingest([other], now: t0 + .seconds(60))[0].incidentID)
        #expect(try await store.policiesInUse() == [PolicyInUse(policy: Self.policy, incidents: [paging])],
                "the held one is not said to keep its copy at start")
        var edited = Self.policy
        edited.tiers[0].notify = [.init(connector: "noc-email", to: ["new-rotation@example.com"])]
        edited.tiers[0].escalateAfter = .seconds(600)
        let rules = RuleSet(rules: [Rule(name: "latency", matchers: [], policy: "cdn-performance")])
        let context = EscalationContext(rules: rules, policies: ["cdn-performance": edited])
        _ = try await store.advanceEscalations(now: end, limit: 10, context: context)
        let claimed = try await store.claimDeliveries(now: end, lease: .seconds(60), limit: 100, quota: .none)
        let heldPages = claimed.filter { $0.incidentID == held }
        #expect(heldPages.map(\.recipients) == [["new-rotation@example.com"]], "\(heldPages)")
        let detail = try #require(try await store.incident(id: held))
        #expect(detail.timeline.compactMap(\.detail).contains(
            "nobody was paged for it yet, so it escalates by policy cdn-performance as loaded now, edited since it opened"))
        // Its copy is the edited policy now: tier 2 after the edited 10 minutes.
        let tier2 = try await store.advanceEscalations(now: end + .seconds(600), limit: 10, context: context)
        let heldTier = try await store.incident(id: held)?.incident.tier
        #expect(tier2.pages == 1 && heldTier == 2)
        // The other incident paged before the edit: its copy's 15 minutes, not 10.
        let pagingTier = try await store.incident(id: paging)?.incident.tier
        #expect(pagingTier == 2, "paged at +60 s, tier 2 at +960 s")
        let inUse = try await store.policiesInUse()
        #expect(inUse == [PolicyInUse(policy: edited, incidents: [held]), PolicyInUse(policy: Self.policy, incidents: [paging])])

        // A rule re-pointed to another policy while the window held the incident.
        let later = end + .seconds(7200)
        _ = try await store.createSilence(try silence("pop = ICN2", from: later, to: later + .seconds(600)))
        let icn2 = Self.routed("c", pop: "ICN2")
        let second = try #require(try await store.ingest([icn2], now: later)[0].incidentID)
        let other2 = EscalationPolicy(name: "edge-fast", tiers: [.init(name: "edge-oncall", notify: [.init(connector: "rnd-chat")],
                                                                         escalateAfter: .seconds(300))])
        let repointed = EscalationContext(rules: RuleSet(rules: [Rule(name: "latency", matchers: [], policy: "edge-fast")]),
                                          policies: ["cdn-performance": edited, "edge-fast": other2])
        _ = try await store.advanceEscalations(now: later + .seconds(600), limit: 10, context: repointed)
        let stored = try #require(try await store.incident(id: second))
        #expect(stored.incident.policy == "edge-fast")
        #expect(stored.timeline.compactMap(\.detail).contains(
            "nobody was paged for it yet, so it escalates by policy edge-fast instead of cdn-performance, which rule latency names now"))
        let pages = try await store.claimDeliveries(now: later + .seconds(600), lease: .seconds(60), limit: 100, quota: .none)
        #expect(pages.filter { $0.incidentID == second }.map(\.tierName) == ["edge-oncall"])

        // Held by a PoP-down: the minute's looks while it is open keep its copy and say
        // nothing (black-box round 40: said at every look).
        let t3 = later + .seconds(7200)
        let rules3 = try Self.popDownInhibitsEdge()
        let context3 = EscalationContext(rules: rules3, policies: ["cdn-performance": edited])
        _ = try await store.ingest([Self.popDown(at: "HB")], now: t3)
        var hb = Self.routed("hb-edge-01", pop: "HB")
        hb.inhibitors = rules3.inhibitCandidates(of: hb.alert.labels, rule: hb.rule)
        let symptom = try #require(try await store.ingest([hb], now: t3 + .seconds(1))[0].incidentID)
        _ = try await store.advanceEscalations(now: t3 + .seconds(61), limit: 10, context: context3)
        let stillHeld = try #require(try await store.incident(id: symptom))
        #expect(!stillHeld.incident.escalation.hasPaged && stillHeld.policy == Self.policy)
        #expect(!stillHeld.timeline.compactMap(\.detail).contains { $0.hasPrefix("nobody was paged for it yet") })

        // Acknowledged before anyone was paged: its ack timeout's page is its first, by the
        // policy as loaded then (black-box round 40).
        let t4 = t3 + .seconds(7200)
        _ = try await store.createSilence(try silence("pop = AK", from: t4, to: t4 + .seconds(600)))
        let ak = Self.routed("ak-edge-01", pop: "AK")
        let acked = try #require(try await store.ingest([ak], now: t4)[0].incidentID)
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: acked, now: t4 + .seconds(60))
        _ = try await store.advanceEscalations(now: t4 + .seconds(1860), limit: 10, context: context)
        let timedOut = try await store.claimDeliveries(now: t4 + .seconds(1860), lease: .seconds(60), limit: 100, quota: .none)
        #expect(timedOut.filter { $0.incidentID == acked }.map(\.recipients) == [["new-rotation@example.com"]], "\(timedOut)")

        // Escalated by hand while held: by the policy as loaded too, which becomes its copy
        // (black-box round 40, F3: the old rotation was paged).
        let t5 = t4 + .seconds(7200)
        _ = try await store.createSilence(try silence("pop = OS", from: t5, to: t5 + .seconds(3600)))
        let os = Self.routed("os-edge-01", pop: "OS")
        let manual = try #require(try await store.ingest([os], now: t5)[0].incidentID)
        _ = try await store.escalate(id: manual, by: "bob", note: nil, now: t5 + .seconds(60), context: context)
        let byHand = try await store.claimDeliveries(now: t5 + .seconds(60), lease: .seconds(60), limit: 100, quota: .none)
        #expect(byHand.filter { $0.incidentID == manual }.map(\.recipients) == [["new-rotation@example.com"]], "\(byHand)")
        let escalated = try #require(try await store.incident(id: manual))
        #expect(escalated.policy == edited && escalated.incident.escalation.hasPaged)
        #expect(escalated.timeline.compactMap(\.detail).contains(
            "nobody was paged for it yet, so it escalates by policy cdn-performance as loaded now, edited since it opened"))
    }

    /// Acknowledged before anyone was paged, its policy's `ack_timeout` edited: its first
    /// page comes at the loaded policy's time, by that policy, whether the edit shortened it
    /// (`serve` moves its next look at start: `retime`) or lengthened it (the engine looks at
    /// the copy's time and waits). Black-box round 41: it paged at the copy's time, by the
    /// copy when that was the shorter.
    func anUnpagedIncidentTimesItsFirstPageByThePolicyAsLoaded() async throws {
        _ = try await store.createSilence(try silence("pop = ICN1", from: t0, to: t0 + .seconds(120)))
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: t0 + .seconds(60))
        #expect(try await store.incident(id: id)?.incident.nextEscalationAt == t0 + .seconds(1860), "the copy's 30m")
        var shorter = Self.policy
        (shorter.ackTimeout, shorter.tiers[0].name) = (.seconds(600), "night-desk")
        let rules = RuleSet(rules: [Rule(name: "latency", matchers: [], policy: "cdn-performance")])
        let context = EscalationContext(rules: rules, policies: ["cdn-performance": shorter])
        #expect(try await store.retime(id, from: t0 + .seconds(1), to: t0 + .seconds(660)) == false, "moved meanwhile: left")
        #expect(try await store.retime(id, from: t0 + .seconds(1860), to: t0 + .seconds(660)))
        #expect(try await store.nextEscalationDue() == t0 + .seconds(660))
        _ = try await store.advanceEscalations(now: t0 + .seconds(660), limit: 10, context: context)
        let paged = try await store.claimDeliveries(now: t0 + .seconds(660), lease: .seconds(60), limit: 100, quota: .none)
        #expect(Set(paged.filter { $0.incidentID == id }.map(\.tierName)) == ["night-desk"], "\(paged)")
        _ = try await store.act(.resolve(by: "alice", note: nil), on: id, now: t0 + .seconds(700))

        // Lengthened: the copy's time comes first, and pages nobody.
        let t1 = t0 + .seconds(7200)
        _ = try await store.createSilence(try silence("pop = NRT1", from: t1, to: t1 + .seconds(120)))
        let nrt = Self.routed("b", pop: "NRT1")
        let later = try #require(try await store.ingest([nrt], now: t1)[0].incidentID)
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: later, now: t1 + .seconds(60))
        var longer = Self.policy
        (longer.ackTimeout, longer.tiers[0].name) = (.seconds(3600), "day-desk")
        let edited = EscalationContext(rules: rules, policies: ["cdn-performance": longer])
        #expect(try await store.advanceEscalations(now: t1 + .seconds(1860), limit: 10, context: edited).pages == 0)
        let waiting = try #require(try await store.incident(id: later))
        #expect(!waiting.incident.escalation.hasPaged && waiting.incident.nextEscalationAt == t1 + .seconds(3660))
        #expect(waiting.policy == Self.policy, "taken when it pages")
        #expect(try await store.advanceEscalations(now: t1 + .seconds(3660), limit: 10, context: edited).pages == 1)
        let pages = try await store.claimDeliveries(now: t1 + .seconds(3660), lease: .seconds(60), limit: 100, quota: .none)
        #expect(Set(pages.filter { $0.incidentID == later }.map(\.tierName)) == ["day-desk"], "\(pages)")
        let taken = try #require(try await store.incident(id: later))
        #expect(taken.policy == longer && taken.timeline.compactMap(\.detail).contains(
            "nobody was paged for it yet, so it escalates by policy cdn-performance as loaded now, edited since it opened"))
    }

    /// `retention:` deletes what resolved (or, for silences, ended) before the cutoff, with
    /// its alerts, timeline and pages, oldest first and `limit` at a time; not an incident
    /// whose page is still being delivered, nor an open one, nor the newest incident, the
    /// incident of the newest page or the newest silence (SQLite would give their ids out
    /// again: black-box round 41). A deleted incident's key opens a new incident.
    func retentionDeletesWhatEndedBeforeTheCutoff() async throws {
        func open(_ key: String) async throws -> Int64 {
            try #require(try await store.ingest([Self.routed("edge-01", key: key)], now: t0)[0].incidentID)
        }
        let (old, older, recent, open1, pending) = (try await open("a"), try await open("b"), try await open("c"), try await open("d"),
                                                     try await open("e"))
        let newest = try await open("f")
        // b's resolve notice is the newest page.
        for (id, at) in [(old, 60), (recent, 7200), (pending, 60), (newest, 60), (older, 120)] {
            _ = try await store.act(.resolve(by: "alice", note: nil), on: id, now: t0 + .seconds(Int64(at)))
        }
        // Every page delivered but e's resolve notice, which a receiver still refuses for now.
        let pages = try await store.claimDeliveries(now: t0 + .seconds(7200), lease: .seconds(60), limit: 100, quota: .none)
        try await store.recordDeliveries(pages.map { page in
            let retry = page.incidentID == pending && page.event == .resolved
            return DeliveryRecord(id: page.id, outcome: retry ? .retry(at: t0 + .seconds(9000), reason: "connection refused") : .delivered)
        }, now: t0 + .seconds(7200))
        let ended = try await store.createSilence(try silence("pop = ICN1", from: t0, to: t0 + .seconds(100)))
        let running = try await store.createSilence(try silence("pop = NRT1", from: t0, to: t0 + .seconds(100_000)))
        let endedLast = try await store.createSilence(try silence("pop = LHR6", from: t0, to: t0 + .seconds(100)))

        let cutoff = t0 + .seconds(3600)
        #expect(try await store.deleteExpired(before: cutoff, limit: 1) == RetentionReport(incidents: 1, silences: 1))
        #expect(try await store.incident(id: old) == nil, "oldest first")
        #expect(try await store.deleteExpired(before: cutoff, limit: 1) == RetentionReport())
        let kept = try await store.incidentDetails(ids: [old, older, recent, open1, pending, newest])
        #expect(kept.keys.sorted() == [older, recent, open1, pending, newest])
        #expect(try await store.silences(SilenceQuery(status: .all, now: cutoff)).map(\.id).sorted() == [running.id, endedLast.id],
                "\(ended.id) deleted")
        #expect(try await store.distinctAlerts(of: [old]).isEmpty, "its alerts went with it")

        // Its key's next alert opens a new incident, and pages.
        let again = try await store.ingest([Self.routed("edge-01", key: "a")], now: cutoff)
        #expect(again.map(\.kind) == [.created] && again[0].incidentID == newest + 1, "\(again)")
        #expect(try await store.claimDeliveries(now: cutoff, lease: .seconds(60), limit: 100, quota: .none)
            .filter { $0.incidentID == again[0].incidentID }.count == 2)
    }

    /// Maintenance runs over: extended before its end, the window keeps holding its
    /// incident (nobody paged at the old end), which pages at the new end; the silence
    /// keeps its id and says who extended it.
    func extendingASilenceKeepsWhatItHeldHeld() async throws {
        let window = try await store.createSilence(try silence("pop = ICN1", from: t0, to: t0 + .seconds(3600)))
        let held = try #require(try await store.ingest([Self.routed("a")], now: t0 + .seconds(60))[0].incidentID)
        let now = t0 + .seconds(3000)
        let extended = try await store.extendSilence(id: window.id, to: .after(.seconds(3600)), by: "bob", comment: nil, now: now)
        #expect(extended.id == window.id && extended.endsAt == now + .seconds(3600) && extended.extendedBy == "bob")
        let stored = try await store.silences(SilenceQuery(status: .all, now: now))
        #expect(stored == [extended])
        #expect(stored.first?.createdBy == "alice" && stored.first?.comment == window.comment)
        // Nothing became due: the extension pages nobody, at the old end either.
        #expect(try await store.nextEscalationDue() == t0 + .seconds(3600))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(3600), limit: 10, context: .init()).pages == 0)
        #expect(try await store.incident(id: held)?.incident.escalation.hasPaged == false)
        // An alert arriving after the old end is held too.
        #expect(try await store.ingest([Self.routed("b")], now: t0 + .seconds(4000)).map(\.kind) == [.suppressed])
        #expect(try await store.nextEscalationDue() == extended.endsAt)
        #expect(try await store.advanceEscalations(now: extended.endsAt, limit: 10, context: .init()).pages == 1)
        #expect(try await store.incident(id: held)?.incident.escalation.hasPaged == true)

        let again = try await store.extendSilence(id: window.id, to: .at(extended.endsAt + .seconds(60)), by: "carol",
                                                  comment: "vendor asked for more time", now: now + .seconds(1))
        #expect(again.extendedBy == "carol" && again.comment == "vendor asked for more time")
        await #expect(throws: Silence.Refusal.notLater(window.id, again.endsAt)) {
            try await store.extendSilence(id: window.id, to: .at(again.endsAt), by: "bob", comment: nil, now: now + .seconds(2))
        }
        await #expect(throws: Silence.Refusal.alreadyExpired(window.id, again.endsAt)) {
            try await store.extendSilence(id: window.id, to: .after(.seconds(60)), by: "bob", comment: nil, now: again.endsAt)
        }
        await #expect(throws: StoreError.silenceNotFound(999)) {
            try await store.extendSilence(id: 999, to: .after(.seconds(60)), by: "bob", comment: nil, now: now)
        }
        // A refused extension writes nothing.
        #expect(try await store.silences(SilenceQuery(status: .all, now: now)) == [again])
    }

    /// Expiring the window early makes what it held due at once, and the engine pages it.
    func expiringASilenceEarlyPagesWhatItHeld() async throws {
        // Paging before the window began: the silence does not hold it.
        let other = try #require(try await store.ingest([Self.routed("b", key: "other")], now: t0)[0].incidentID)
        let otherDue = try #require(try await store.incident(id: other)?.incident.nextEscalationAt)
        let window = try await store.createSilence(try silence("pop = ICN1", from: t0, to: t0 + .seconds(7200)))
        let held = try #require(try await store.ingest([Self.routed("a")], now: t0 + .seconds(1))[0].incidentID)
        // Ending a silence that matches none of its alerts leaves it held.
        let unrelated = try await store.createSilence(try silence("pop = NRT2", from: t0, to: t0 + .seconds(7200)))
        _ = try await store.expireSilence(id: unrelated.id, by: "bob", now: t0 + .seconds(300))
        #expect(try await store.incident(id: held)?.incident.nextEscalationAt == t0 + .seconds(7200))
        let now = t0 + .seconds(600)
        _ = try await store.expireSilence(id: window.id, by: "bob", now: now)
        #expect(try await store.nextEscalationDue() == now)
        #expect(try await store.advanceEscalations(now: now, limit: 10, context: .init()).pages == 1)
        #expect(try await store.incident(id: held)?.incident.escalation.hasPaged == true)
        // An incident the silence did not hold keeps its own due time.
        #expect(try await store.incident(id: other)?.incident.nextEscalationAt == otherDue)
    }

    /// What `serve` reads at start to say which open incidents run a copy of their policy
    /// the files no longer match: each copy once, with its open incidents.
    func policiesInUseAreThoseOfOpenIncidents() async throws {
        let a = try #require(try await store.ingest([Self.routed("a", key: "A")], now: t0)[0].incidentID)
        let b = try #require(try await store.ingest([Self.routed("b", key: "B")], now: t0)[0].incidentID)
        var edited = Self.routed("c", key: "C")
        edited.escalationPolicy?.tiers[0].escalateAfter = .seconds(60)
        let c = try #require(try await store.ingest([edited], now: t0)[0].incidentID)
        let d = try #require(try await store.ingest([Self.routed("d", key: "D")], now: t0)[0].incidentID)
        _ = try await store.act(.resolve(by: "alice", note: nil), on: b, now: t0 + .seconds(1))
        let inUse = try await store.policiesInUse()
        #expect(inUse == [PolicyInUse(policy: Self.policy, incidents: [a, d]),
                          PolicyInUse(policy: try #require(edited.escalationPolicy), incidents: [c])])
    }

    /// Acknowledged while a silence held it (nobody paged yet): its ack_timeout waits for
    /// the silence's end, and then tier 1 is paged, the timeline saying why so late.
    func anAcknowledgementTakenUnderASilenceTimesOutWhenTheSilenceEnds() async throws {
        _ = try await store.createSilence(try silence("pop = ICN1", from: t0, to: t0 + .seconds(7200)))
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0 + .seconds(1))[0].incidentID)
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: t0 + .seconds(60))
        #expect(try await store.nextEscalationDue() == t0 + .seconds(7200))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(7200), limit: 10, context: .init()).pages == 1)
        let stored = try #require(try await store.incident(id: id))
        #expect(stored.incident.status == .triggered && stored.incident.tier == 1)
        #expect(stored.timeline.compactMap(\.detail).contains(
            "acknowledged by alice but unresolved after 1h59m, when the silence that held it ended (ack_timeout 30m): back to triggered"))
    }

    /// The same acknowledgement, and the silence expired early: the ack_timeout keeps its
    /// own time (30 minutes after the acknowledgement), not the silence's old end. Black-box
    /// round 26 saw it wait for the old end, 10 minutes late.
    func anAcknowledgementTakenUnderASilenceTimesOutOnTimeOnceTheSilenceIsExpired() async throws {
        let window = try await store.createSilence(try silence("pop = ICN1", from: t0, to: t0 + .seconds(7200)))
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0 + .seconds(1))[0].incidentID)
        _ = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: t0 + .seconds(60))
        _ = try await store.expireSilence(id: window.id, by: "bob", now: t0 + .seconds(600))
        #expect(try await store.nextEscalationDue() == t0 + .seconds(600))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(600), limit: 10, context: .init()).pages == 0)
        #expect(try await store.incident(id: id)?.incident.status == .acknowledged)
        #expect(try await store.nextEscalationDue() == t0 + .seconds(1860))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(1860), limit: 10, context: .init()).pages == 1)
        let stored = try #require(try await store.incident(id: id))
        #expect(stored.incident.status == .triggered && stored.incident.tier == 1)
        #expect(stored.timeline.compactMap(\.detail).contains("acknowledged by alice but unresolved after 30m (ack_timeout): back to triggered"))
    }

    /// Two hosts of one PoP, each under its own silence: the incident pages when the first
    /// of the two silences ends, judged on its firing alerts, not on the labels it was
    /// opened with.
    func aHeldIncidentPagesWhenAnyOfItsAlertsIsNoLongerSilenced() async throws {
        _ = try await store.createSilence(try silence("instance = a", from: t0, to: t0 + .seconds(7200)))
        _ = try await store.createSilence(try silence("instance = b", from: t0, to: t0 + .seconds(1800)))
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        #expect(try await store.ingest([Self.routed("b")], now: t0 + .seconds(60)).map(\.kind) == [.suppressed])
        #expect(try await store.nextEscalationDue() == t0 + .seconds(1800))
        #expect(try await store.advanceEscalations(now: t0 + .seconds(1800), limit: 10, context: .init()).pages == 1)
        #expect(try await store.incident(id: id)?.incident.escalation.hasPaged == true)
    }

    func heartbeatsRecordPingsAndMisses() async throws {
        #expect(try await store.heartbeats() == [])
        #expect(try await store.pingHeartbeat(name: "prometheus-apac", at: t0) == nil)
        #expect(try await store.pingHeartbeat(name: "blackbox", at: t0) == nil)
        let states = try await store.heartbeats()
        #expect(states == [HeartbeatState(name: "blackbox", lastPingAt: t0), HeartbeatState(name: "prometheus-apac", lastPingAt: t0)])
        // blackbox pings again after its state was read: its miss is not marked.
        _ = try await store.pingHeartbeat(name: "blackbox", at: t0 + .seconds(299))
        let miss = t0 + .seconds(300)
        #expect(try await store.beginHeartbeatMisses(states, at: miss) == ["prometheus-apac"])
        #expect(try await store.endHeartbeatMisses([states[1]], at: miss) == ["prometheus-apac"])
        let missed = HeartbeatState(name: "prometheus-apac", lastPingAt: t0, missStartedAt: miss, missSentAt: miss)
        #expect(try await store.heartbeats().last == missed)
        // A ping answers the state before it, marks included, and keeps them for its recovery.
        #expect(try await store.pingHeartbeat(name: "prometheus-apac", at: t0 + .seconds(400)) == missed)
        #expect(try await store.endHeartbeatMisses([states[1]], at: t0 + .seconds(401)) == [])
        var pinged = missed
        pinged.lastPingAt = t0 + .seconds(400)
        #expect(try await store.heartbeats().last == pinged)
        // Clearing marks a newer miss has changed does nothing; the ones read, everything.
        var stale = missed
        stale.missSentAt = t0 + .seconds(1)
        try await store.clearHeartbeatMiss(stale)
        #expect(try await store.heartbeats().last == pinged)
        try await store.clearHeartbeatMiss(missed)
        #expect(try await store.heartbeats().last == HeartbeatState(name: "prometheus-apac", lastPingAt: t0 + .seconds(400)))
    }

    /// One Alertmanager group can carry the last firing alert's recovery and another
    /// alert's firing: the incident resolves and reopens in one batch, and the new alert
    /// must stay firing, or its own recovery would never resolve the incident.
    func aBatchThatResolvesAndReopensKeepsTheNewAlertFiring() async throws {
        let id = try #require(try await store.ingest([Self.routed("a")], now: t0)[0].incidentID)
        let out = try await store.ingest([Self.routed("a", .resolved), Self.routed("b")], now: t0 + .seconds(60))
        #expect(out.map(\.kind) == [.resolved, .reopened])
        var detail = try #require(try await store.incident(id: id))
        #expect(detail.incident.status == .triggered)
        #expect(detail.incident.firingCount == 1)
        #expect(Dictionary(uniqueKeysWithValues: detail.alerts.map { ($0.labels["instance"] ?? "", $0.status) })
                == ["a": .resolved, "b": .firing])
        _ = try await store.ingest([Self.routed("b", .resolved)], now: t0 + .seconds(120))
        detail = try #require(try await store.incident(id: id))
        #expect(detail.incident.status == .resolved)

        // `resolve: any`: a recovery resolves the incident, and an alert that fired earlier
        // in the same batch resolves with it, so a later re-fire counts it again.
        func any(_ instance: String, _ status: AlertStatus = .firing) -> RoutedAlert {
            var r = Self.routed(instance, status, key: "Any")
            r.resolve = .any
            return r
        }
        let anyID = try #require(try await store.ingest([any("a")], now: t0)[0].incidentID)
        #expect(try await store.ingest([any("b"), any("a", .resolved)], now: t0 + .seconds(60)).map(\.kind) == [.merged, .resolved])
        let resolved = try #require(try await store.incident(id: anyID))
        #expect(resolved.incident.status == .resolved)
        #expect(resolved.alerts.allSatisfy { $0.status == .resolved })
        #expect(try await store.ingest([any("b")], now: t0 + .seconds(90)).map(\.kind) == [.reopened])
        #expect(try await store.incident(id: anyID)?.incident.firingCount == 1)
    }

    /// `alertbridge report --since`: incidents created at or after a time.
    func listingSinceACreationTime() async throws {
        _ = try await store.ingest([Self.routed("a", key: "old")], now: t0)
        _ = try await store.ingest([Self.routed("b", key: "new")], now: t0 + .seconds(3600))
        let recent = try await store.incidents(IncidentQuery(status: .all, createdSince: t0 + .seconds(3600)))
        #expect(recent.map(\.dedupKey) == ["new"])
        #expect(try await store.incidents(IncidentQuery(status: .all, createdSince: t0)).count == 2)
        #expect(try await store.incidents(IncidentQuery(status: .all)).count == 2)
    }
}

extension StoreConformance {
    /// One check of the suite, named as the test report shows it.
    struct Check: Sendable, CustomTestStringConvertible {
        let name: String
        let run: @Sendable (StoreConformance) async throws -> Void

        init(_ name: String, _ run: @escaping @Sendable (StoreConformance) async throws -> Void) {
            self.name = name
            self.run = run
        }

        var testDescription: String { name }
    }

    static let checks: [Check] = [
        .init("ingestCreatesThenMerges") { try await $0.ingestCreatesThenMerges() },
        .init("openAlertsAreFoundByFingerprint") { try await $0.openAlertsAreFoundByFingerprint() },
        .init("everyAlertOfANewIncidentKeepsItsOwnMaps") { try await $0.everyAlertOfANewIncidentKeepsItsOwnMaps() },
        .init("severityOnlyRises") { try await $0.severityOnlyRises() },
        .init("multiAlertIncidentResolvesWhenAllResolve") { try await $0.multiAlertIncidentResolvesWhenAllResolve() },
        .init("reopenWithinWindowElseNewIncident") { try await $0.reopenWithinWindowElseNewIncident() },
        .init("listingSinceACreationTime") { try await $0.listingSinceACreationTime() },
        .init("anInhibitedIncidentPagesOnceItsInhibitorResolves") { try await $0.anInhibitedIncidentPagesOnceItsInhibitorResolves() },
        .init("aNewTargetWaitsForAnInhibitorToOpen") { try await $0.aNewTargetWaitsForAnInhibitorToOpen() },
        .init("aFlapWithinKeepOpenForIsOneEpisode") { try await $0.aFlapWithinKeepOpenForIsOneEpisode() },
        .init("listingFiltersBySeverityAndLabels") { try await $0.listingFiltersBySeverityAndLabels() },
        .init("anInhibitWaitsEndLooksAtRestartsBlinksAndEveryAlert") { try await $0.anInhibitWaitsEndLooksAtRestartsBlinksAndEveryAlert() },
        .init("aPagingIncidentsNextTierWaitsWhileItsInhibitorIsOpen") { try await $0.aPagingIncidentsNextTierWaitsWhileItsInhibitorIsOpen() },
        .init("anOriginIncidentIsHeldOnlyWhileEveryReportingPoPIsDown") { try await $0.anOriginIncidentIsHeldOnlyWhileEveryReportingPoPIsDown() },
        .init("anAlertKeyedByItsSenderKeepsItsLatestLabels") { try await $0.anAlertKeyedByItsSenderKeepsItsLatestLabels() },
        .init("anAckTimeoutWaitsWhileAnInhibitorIsOpen") { try await $0.anAckTimeoutWaitsWhileAnInhibitorIsOpen() },
        .init("aClaimKeepsEachConnectorWithinItsRoom") { try await $0.aClaimKeepsEachConnectorWithinItsRoom() },
        .init("aRiseInSeverityRunsTheSeverityPolicy") { try await $0.aRiseInSeverityRunsTheSeverityPolicy() },
        .init("deliveryOutcomesReachTheTimeline") { try await $0.deliveryOutcomesReachTheTimeline() },
        .init("aRecipientRefusedForNowGetsThePageAgain") { try await $0.aRecipientRefusedForNowGetsThePageAgain() },
        .init("givingUpOnARefusedRecipientIsNotAFailedPage") { try await $0.givingUpOnARefusedRecipientIsNotAFailedPage() },
        .init("aCancelledPageIsRecordedAndNotHandedOutAgain") { try await $0.aCancelledPageIsRecordedAndNotHandedOutAgain() },
        .init("aDeliveryEndsTheBackoffsOfItsConnector") { try await $0.aDeliveryEndsTheBackoffsOfItsConnector() },
        .init("theFirstRecordedFailureIsOnTheTimelineAfterACrash") { try await $0.theFirstRecordedFailureIsOnTheTimelineAfterACrash() },
        .init("extendingASilenceKeepsWhatItHeldHeld") { try await $0.extendingASilenceKeepsWhatItHeldHeld() },
        .init("anAckCommittedAfterTheNextTiersPageOvertakesIt") { try await $0.anAckCommittedAfterTheNextTiersPageOvertakesIt() },
        .init("aPageAnsweredByAnAckThatTimedOutIsNotSent") { try await $0.aPageAnsweredByAnAckThatTimedOutIsNotSent() },
        .init("aReopenedIncidentPagesEveryTierAgain") { try await $0.aReopenedIncidentPagesEveryTierAgain() },
        .init("silencesAreListedByStatusAndExpired") { try await $0.silencesAreListedByStatusAndExpired() },
        .init("aSilencedIncidentPagesWhenItsSilenceEnds") { try await $0.aSilencedIncidentPagesWhenItsSilenceEnds() },
        .init("anAcknowledgementEndsTheHoldOnItsNextTier") { try await $0.anAcknowledgementEndsTheHoldOnItsNextTier() },
        .init("policiesInUseAreThoseOfOpenIncidents") { try await $0.policiesInUseAreThoseOfOpenIncidents() },
        .init("aHeldIncidentPagesByItsPolicyAsLoadedWhenFirstPaged") { try await $0.aHeldIncidentPagesByItsPolicyAsLoadedWhenFirstPaged() },
        .init("anOpenIncidentTakesItsRulesNewKey") { try await $0.anOpenIncidentTakesItsRulesNewKey() },
        .init("retentionDeletesWhatEndedBeforeTheCutoff") { try await $0.retentionDeletesWhatEndedBeforeTheCutoff() },
        .init("anUnpagedIncidentTimesItsFirstPageByThePolicyAsLoaded") { try await $0.anUnpagedIncidentTimesItsFirstPageByThePolicyAsLoaded() },
        .init("aHeldIncidentIsReleasedWhenNothingInhibitsEveryAlertOfItNow") {
            try await $0.aHeldIncidentIsReleasedWhenNothingInhibitsEveryAlertOfItNow()
        },
        .init("expiringASilenceEarlyPagesWhatItHeld") { try await $0.expiringASilenceEarlyPagesWhatItHeld() },
        .init("anAcknowledgementTakenUnderASilenceTimesOutWhenTheSilenceEnds") { try await $0.anAcknowledgementTakenUnderASilenceTimesOutWhenTheSilenceEnds() },
        .init("anAcknowledgementTakenUnderASilenceTimesOutOnTimeOnceTheSilenceIsExpired") { try await $0.anAcknowledgementTakenUnderASilenceTimesOutOnTimeOnceTheSilenceIsExpired() },
        .init("aHeldIncidentPagesWhenAnyOfItsAlertsIsNoLongerSilenced") { try await $0.aHeldIncidentPagesWhenAnyOfItsAlertsIsNoLongerSilenced() },
        .init("heartbeatsRecordPingsAndMisses") { try await $0.heartbeatsRecordPingsAndMisses() },
        .init("aLateRecoveryOfAnEarlierEpisodeDoesNotResolveWhatFiresNow") { try await $0.aLateRecoveryOfAnEarlierEpisodeDoesNotResolveWhatFiresNow() },
        .init("aBatchThatResolvesAndReopensKeepsTheNewAlertFiring") { try await $0.aBatchThatResolvesAndReopensKeepsTheNewAlertFiring() },
        .init("operatorActionsAndRefusals") { try await $0.operatorActionsAndRefusals() },
        .init("listingFiltersAndOrders") { try await $0.listingFiltersAndOrders() },
        .init("incidentDetailsReadsEachWithItsOwnAlertsAndTimeline") { try await $0.incidentDetailsReadsEachWithItsOwnAlertsAndTimeline() },
        .init("undeliveredPagesAreTheCurrentTiersPagesThatReachedNobody") { try await $0.undeliveredPagesAreTheCurrentTiersPagesThatReachedNobody() },
        .init("ingestSeesEveryOtherWrite") { try await $0.ingestSeesEveryOtherWrite() },
        .init("concurrentStormOfOneKeySet") { try await $0.concurrentStormOfOneKeySet() },
        .init("timelineAndLabelsSurviveUnicode") { try await $0.timelineAndLabelsSurviveUnicode() },
        .init("eachNewIncidentKeepsItsOwnEscalationState") { try await $0.eachNewIncidentKeepsItsOwnEscalationState() },
    ]
}
