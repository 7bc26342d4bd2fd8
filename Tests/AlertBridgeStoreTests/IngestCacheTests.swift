@testable import AlertBridgeStore
@testable import AlertBridgeCore
import Testing

/// The writer's cache must say what the rows say after every committed plan: a wrong
/// entry would merge the next batch's alerts into stale counts or a closed incident.
@Suite struct IngestCacheTests {
    let t0 = Timestamp(seconds: 1_700_000_000)

    func incident(_ id: Int64, key: String, alerts: Int = 1, status: IncidentStatus = .triggered) -> Incident {
        Incident(id: id, dedupKey: key, status: status, title: key, severity: .warning, labels: [:], annotations: [:],
                 rule: "r", policy: "p", tier: 1, alertCount: alerts, firingCount: alerts, createdAt: t0, lastAlertAt: t0)
    }

    func change(_ id: Int64, fingerprint: String, _ status: AlertStatus) -> IngestPlanner.AlertChange {
        let alert = Alert(source: "test", status: status, severity: .warning, summary: "s", labels: ["f": fingerprint],
                          fingerprint: fingerprint, startsAt: t0, endsAt: status == .resolved ? t0 + .seconds(5) : nil)
        return .init(incidentID: id, alert: alert, received: 1, firstSeenAt: t0, lastSeenAt: t0)
    }

    /// A cache that has read these incidents back, each with one firing alert `a`.
    func cache(holding incidents: [Incident]) throws -> IngestCache {
        let cache = IngestCache()
        _ = try cache.lookUp(Set(incidents.map(\.dedupKey))) { _ in
            Dictionary(uniqueKeysWithValues: incidents.map {
                ($0.dedupKey, IngestCache.Entry(incident: $0, alerts: ["a": .init(status: .firing, startsAt: t0)]))
            })
        }
        return cache
    }

    /// What the cache answers for these keys, reading nothing.
    func known(_ cache: IngestCache, _ keys: Set<String>) throws -> IngestCache.Known {
        try cache.lookUp(keys) { missing in
            Issue.record("read \(missing) from the file")
            return [:]
        }
    }

    @Test func aCommittedMergeUpdatesItsIncidentAndAlertsInPlace() throws {
        let cache = try cache(holding: [incident(1, key: "k1"), incident(2, key: "k2")])
        var plan = IngestPlanner.Plan()
        plan.incidents = [incident(1, key: "k1", alerts: 3)]
        plan.alerts = [change(1, fingerprint: "a", .resolved), change(1, fingerprint: "b", .firing)]
        cache.remember(plan)

        let known = try known(cache, ["k1", "k2"])
        #expect(known.incidents["k1"]?.alertCount == 3)
        #expect(known.incidents["k2"]?.alertCount == 1)
        #expect(known.status[.init(incidentID: 1, fingerprint: "a")] == .resolved)
        #expect(known.ends[.init(incidentID: 1, fingerprint: "a")] == t0 + .seconds(5))
        #expect(known.status[.init(incidentID: 1, fingerprint: "b")] == .firing)
        #expect(known.status[.init(incidentID: 2, fingerprint: "a")] == .firing)
    }

    @Test func aResolvedIncidentResolvesEveryAlertItHolds() throws {
        let cache = try cache(holding: [incident(1, key: "k1")])
        var plan = IngestPlanner.Plan()
        plan.incidents = [incident(1, key: "k1", status: .resolved)]
        plan.alerts = [change(1, fingerprint: "b", .firing)]
        plan.resolvedIncidentIDs = [1]
        cache.remember(plan)

        let known = try known(cache, ["k1"])
        #expect(known.incidents["k1"]?.status == .resolved)
        #expect(known.status[.init(incidentID: 1, fingerprint: "a")] == .resolved)
        // The plan's own change comes after the resolution, as the statements run.
        #expect(known.status[.init(incidentID: 1, fingerprint: "b")] == .firing)
    }

    /// A key whose plan holds another incident (it reopened as a new one, even after the
    /// old one merged in the same batch) is read from the file next time.
    @Test func aKeyThatGotANewIncidentIsForgotten() throws {
        for order in [[1, 2], [2, 1]] {
            let cache = try cache(holding: [incident(1, key: "k1"), incident(3, key: "k3")])
            var plan = IngestPlanner.Plan()
            let versions: [Int: Incident] = [1: incident(1, key: "k1", alerts: 2), 2: incident(2, key: "k1")]
            plan.incidents = order.map { versions[$0]! }
            plan.alerts = [change(1, fingerprint: "a", .firing), change(2, fingerprint: "c", .firing)]
            cache.remember(plan)

            var read: [String] = []
            let known = try cache.lookUp(["k1", "k3"]) { missing in
                read = missing
                return [:]
            }
            #expect(read == ["k1"], "order \(order)")
            #expect(known.incidents["k3"]?.id == 3, "order \(order)")
        }
    }
}
