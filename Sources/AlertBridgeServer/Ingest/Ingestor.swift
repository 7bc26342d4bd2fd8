import AlertBridgeCore
import AlertBridgeStore
import Foundation
import Hummingbird

/// Decodes, validates, routes and commits alerts; shared by every ingest format.
///
/// Decoding and routing run on the request's own task (in parallel across cores);
/// only the commit is serialised, and it is batched by the ``GroupCommitter``.
public struct Ingestor: Sendable {
    let rules: RuleSet
    let policies: [String: EscalationPolicy]
    let committer: GroupCommitter
    let limits: IngestLimits
    let metrics: ServerMetrics
    let clock: any WallClock
    let wakeups: [Wakeup]

    public init(rules: RuleSet, policies: [String: EscalationPolicy], committer: GroupCommitter, limits: IngestLimits,
                metrics: ServerMetrics, clock: any WallClock, wakeups: [Wakeup]) {
        self.rules = rules
        self.policies = policies
        self.wakeups = wakeups
        self.committer = committer
        self.limits = limits
        self.metrics = metrics
        self.clock = clock
    }

    /// Native alerts: a JSON object answers an object, an array answers an array.
    func native(_ body: ByteBuffer) async throws -> Response {
        let isArray = body.readableBytesView.first(where: { !Self.isSpace($0) }) == UInt8(ascii: "[")
        let alerts: [Alert]
        do {
            if isArray {
                let payloads = try Self.decoder.decode([NativeAlertPayload].self, from: Data(body.readableBytesView))
                guard !payloads.isEmpty else { throw APIError.badRequest("the array holds no alert") }
                guard payloads.count <= limits.maxAlertsPerRequest else {
                    throw APIError.badRequest("has \(payloads.count) alerts, more than the limit of \(limits.maxAlertsPerRequest)")
                }
                alerts = try payloads.enumerated().map { try $1.alert(at: "[\($0)]", limits: limits) }
            } else {
                let payload = try Self.decoder.decode(NativeAlertPayload.self, from: Data(body.readableBytesView))
                alerts = [try payload.alert(at: "", limits: limits)]
            }
        } catch {
            metrics.rejected.increment()
            throw DecodingErrors.apiError(error)
        }
        let outcomes = try await commit(alerts, format: "native")
        return IngestAnswer.response(outcomes, single: !isArray)
    }

    /// Alertmanager webhook v4.
    func alertmanager(_ body: ByteBuffer) async throws -> Response {
        let alerts: [Alert]
        do {
            alerts = try Self.decoder.decode(AlertmanagerPayload.self, from: Data(body.readableBytesView)).normalised(limits: limits)
        } catch {
            metrics.rejected.increment()
            throw DecodingErrors.apiError(error)
        }
        let outcomes = try await commit(alerts, format: "alertmanager")
        return IngestAnswer.response(outcomes)
    }

    /// Routes and commits; answers one outcome per alert (the first rule's, when a
    /// rule says `continue`). Store failures become 503 so senders retry.
    /// - Parameter dedupKey: a key that overrides the rules' templates (PagerDuty's `dedup_key` names the incident).
    func commit(_ alerts: [Alert], dedupKey: String? = nil, format: String) async throws -> [IngestOutcome] {
        metrics.received[format]?.increment(by: alerts.count)
        var routed: [RoutedAlert] = []
        var firstIndex: [Int] = []
        routed.reserveCapacity(alerts.count)
        for alert in alerts {
            firstIndex.append(routed.count)
            for var r in rules.route(alert) {
                r.escalationPolicy = policies[r.policy]
                if let dedupKey { r.dedupKey = dedupKey }
                routed.append(r)
            }
        }
        let start = clock.now()
        let outcomes: [IngestOutcome]
        do {
            outcomes = try await committer.submit(routed)
        } catch {
            metrics.storeFailures.increment()
            throw APIError(.serviceUnavailable, "the store could not commit the alerts; retry", retryAfterSeconds: 1)
        }
        metrics.commitSeconds.recordMilliseconds(clock.now().milliseconds - start.milliseconds)
        if outcomes.contains(where: { $0.kind != .merged }) { wake() }
        let answers = firstIndex.map { outcomes[$0] }
        for outcome in outcomes { metrics.outcomes[outcome.kind]?.increment() }
        return answers
    }

    /// Wakes the engine and the dispatcher after a write that may have made work due.
    func wake() {
        for wakeup in wakeups { wakeup.signal() }
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    private static let decoder = JSONDecoder()
}
