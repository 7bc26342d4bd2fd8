import AlertBridgeCore
import Testing

@Suite struct IncidentReportTests {
    let t0 = Timestamp(seconds: 1_795_457_100)
    func minutes(_ m: Int64) -> Duration { .seconds(m * 60) }

    func item(_ severity: Severity, policy: String = "cdn-performance", ack: Int64? = nil, resolve: Int64? = nil,
              breaches: [String] = []) -> IncidentReport.Item {
        IncidentReport.Item(status: resolve == nil ? (ack == nil ? .triggered : .acknowledged) : .resolved,
                            severity: severity, policy: policy, createdAt: t0, firstPagedAt: t0,
                            acknowledgedAt: ack.map { t0 + minutes($0) }, resolvedAt: resolve.map { t0 + minutes($0) },
                            slaBreaches: breaches)
    }

    @Test func countsTimesAndBreachesOfAWindow() throws {
        let report = IncidentReport([
            item(.critical, policy: "pop-outage", ack: 2, resolve: 30),
            item(.warning, ack: 4, resolve: 60),
            item(.warning, ack: 12, breaches: ["acknowledge"]),
            item(.error, resolve: 300, breaches: ["acknowledge", "resolve"]),
            item(.warning),
        ])
        #expect(report.total == 5)
        #expect(report.open == 2)
        #expect(report.resolved == 3)
        #expect(report.bySeverity.map(\.0) == [.critical, .error, .warning])
        #expect(report.bySeverity.map(\.1) == [1, 1, 3])
        #expect(report.byPolicy.map(\.0) == ["cdn-performance", "pop-outage"])
        let ack = try #require(report.timeToAcknowledge)
        #expect(ack.count == 3)
        #expect(ack.median == minutes(4))
        #expect(ack.p90 == minutes(12))
        #expect(ack.max == minutes(12))
        let resolve = try #require(report.timeToResolve)
        #expect(resolve.count == 3)
        #expect(resolve.median == minutes(60))
        #expect(resolve.max == minutes(300))
        #expect(report.acknowledgeSLABreaches == 2)
        #expect(report.resolveSLABreaches == 1)
    }

    /// The review asks which incidents breached, not only how many.
    @Test func breachesNameTheirIncidents() {
        func breached(_ id: Int64, _ slas: [String]) -> IncidentReport.Item {
            var i = item(.warning, breaches: slas)
            i.id = id
            return i
        }
        let report = IncidentReport([breached(9, ["acknowledge"]), breached(4, ["acknowledge", "resolve"]), breached(5, [])])
        #expect(report.acknowledgeSLABreached == [4, 9])
        #expect(report.resolveSLABreached == [4])
    }

    /// Instances of a fleet may disagree on the time: an acknowledgement stamped before the
    /// creation counts as immediate, not as a negative time.
    @Test func timesAreNeverNegative() throws {
        let early = IncidentReport.Item(status: .acknowledged, severity: .error, policy: "p", createdAt: t0, firstPagedAt: t0,
                                        acknowledgedAt: t0 - .seconds(2), resolvedAt: nil, slaBreaches: [])
        #expect(try #require(IncidentReport([early]).timeToAcknowledge).max == .zero)
    }

    /// Acknowledged while an inhibition held it, then paged when that acknowledgement timed
    /// out, and nobody acknowledged the page: no response to time (it read as one in no
    /// time; black-box round 25).
    @Test func anAcknowledgementBeforeTheFirstPageIsNoResponseToIt() {
        let acknowledgedFirst = IncidentReport.Item(status: .triggered, severity: .warning, policy: "p", createdAt: t0,
                                                    firstPagedAt: t0 + minutes(33), acknowledgedAt: t0 + minutes(3),
                                                    resolvedAt: nil, slaBreaches: [])
        let answered = item(.warning, ack: 4)
        let report = IncidentReport([acknowledgedFirst, answered])
        #expect(report.paged == 2)
        #expect(report.timeToAcknowledge?.count == 1)
        #expect(report.timeToAcknowledge?.max == minutes(4))
    }

    /// A silence held the incident for two hours; tier 1 was paged when it ended and
    /// acknowledged 3 minutes later. The response took 3 minutes, as the SLA counts it.
    /// One never paged (held until it resolved) had no response to time: it is counted,
    /// not timed.
    @Test func timesCountFromTheFirstPage() throws {
        let held = IncidentReport.Item(status: .resolved, severity: .critical, policy: "p", createdAt: t0,
                                       firstPagedAt: t0 + minutes(120), acknowledgedAt: t0 + minutes(123),
                                       resolvedAt: t0 + minutes(150), slaBreaches: [])
        let neverPaged = IncidentReport.Item(status: .resolved, severity: .warning, policy: "p", createdAt: t0,
                                             firstPagedAt: nil, acknowledgedAt: nil, resolvedAt: t0 + minutes(40), slaBreaches: [])
        let report = IncidentReport([held, neverPaged])
        #expect(report.resolved == 2 && report.paged == 1)
        #expect(try #require(report.timeToAcknowledge).max == minutes(3))
        #expect(try #require(report.timeToResolve).count == 1)
        #expect(try #require(report.timeToResolve).max == minutes(30))
    }

    /// Ten incidents went quiet and closed by `auto_resolve_after: 12h`: nobody resolved
    /// them, so they are counted by what closed them and left out of the time to resolve
    /// (12h each would read as the team's response). One resolved before alertbridge
    /// recorded how is counted as such, and timed.
    @Test func autoResolvesAreCountedButNotTimed() throws {
        func closed(_ how: Resolution?, after m: Int64) -> IncidentReport.Item {
            IncidentReport.Item(status: .resolved, severity: .warning, policy: "p", createdAt: t0, firstPagedAt: t0,
                                acknowledgedAt: nil, resolvedAt: t0 + minutes(m), resolution: how, slaBreaches: [])
        }
        let report = IncidentReport([closed(.alerts, after: 20), closed(.operator, after: 40), closed(nil, after: 60), item(.critical)]
                                    + (0..<10).map { _ in closed(.autoResolve, after: 725) })
        #expect(report.resolved == 13)
        #expect(report.resolvedBy.map(\.0) == [.alerts, .operator, .autoResolve])
        #expect(report.resolvedBy.map(\.1) == [1, 1, 10])
        #expect(report.unrecordedResolutions == 1)
        let resolve = try #require(report.timeToResolve)
        #expect(resolve.count == 3)
        #expect(resolve.max == minutes(60))
        #expect(report.autoResolvedUntimed == 10)
    }

    /// Which PoPs and regions had the most incidents: counts by a label's value, largest
    /// first, and those without the label under "(none)".
    @Test func countsByTheValuesOfALabel() {
        func at(_ pop: String?, _ region: String = "apac") -> IncidentReport.Item {
            var i = item(.warning)
            i.labels = ["region": region]
            i.labels["pop"] = pop
            return i
        }
        let report = IncidentReport([at("ICN1"), at("NRT2"), at("ICN1"), at("FRA1", "emea"), at(nil), at("")], byLabels: ["pop", "region"])
        #expect(report.byLabel.map(\.label) == ["pop", "region"])
        #expect(report.byLabel[0].counts.map { "\($0.0) \($0.1)" } == ["ICN1 2", "(none) 2", "FRA1 1", "NRT2 1"], "empty is absent; a tie puts it last")
        #expect(report.byLabel[1].counts.map { "\($0.0) \($0.1)" } == ["apac 5", "emea 1"])
        #expect(IncidentReport([at("ICN1")]).byLabel.isEmpty)
    }

    @Test func anEmptyWindowHasNoTimes() {
        let report = IncidentReport([])
        #expect(report.total == 0)
        #expect(report.timeToAcknowledge == nil)
        #expect(report.timeToResolve == nil)
    }
}
