/// A monitor that must ping alertbridge (`POST /api/v1/heartbeats/{name}`) at least every
/// `timeout`: when one stops, the silence itself is the alert.
///
/// A missed heartbeat becomes an ordinary alert (`alertname="HeartbeatMissed"`,
/// `heartbeat=NAME`, plus the configured labels), so rules route it, dedup merges it,
/// silences hold it and a policy escalates it like any other. The next ping recovers it.
/// A heartbeat is watched from its first ping: adding one to the configuration pages
/// nobody until its monitor has started. While it stays missed, the alert is sent again
/// every `timeout`, as a monitor re-sends a firing alert.
public struct Heartbeat: Sendable, Equatable {
    public static let alertname = "HeartbeatMissed"

    public var name: String
    public var timeout: Duration
    public var severity: Severity
    public var labels: Labels

    public init(name: String, timeout: Duration, severity: Severity = .critical, labels: Labels = [:]) {
        self.name = name
        self.timeout = timeout
        self.severity = severity
        self.labels = labels
    }

    /// `[A-Za-z0-9._-]`, 1 to 128 characters, not `.` or `..`: the name is a URL path segment.
    public static func isValidName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count) && name != "." && name != ".." && name.utf8.allSatisfy { c in
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// The alert of a missed heartbeat: firing since it expired at `expiredAt`.
    /// A miss decided before the ping that recovered it, committed after, is stale.
    public func missed(expiredAt: Timestamp) -> Alert {
        var alert = Alert(source: "alertbridge", status: .firing, severity: severity,
                          summary: "heartbeat \(name) missed: no ping within its \(DurationText.format(timeout)) timeout",
                          labels: alertLabels, fingerprint: fingerprint, startsAt: expiredAt)
        alert.dropsLateCopies = true
        return alert
    }

    /// The recovery of that alert: the heartbeat pinged again at `now`.
    public func recovered(at now: Timestamp) -> Alert {
        Alert(source: "alertbridge", status: .resolved, severity: severity,
              summary: "heartbeat \(name) is pinging again", labels: alertLabels, fingerprint: fingerprint, endsAt: now)
    }

    /// By name, not by labels: a recovery still finds its alert after the labels changed.
    var fingerprint: String { "heartbeat/\(name)" }

    var alertLabels: Labels {
        var out = labels
        out["alertname"] = Self.alertname
        out["heartbeat"] = name
        return out
    }
}

extension Array where Element == Heartbeat {
    /// By name, as the ping route and the monitor look them up.
    public var byName: [String: Heartbeat] {
        Dictionary(map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// A heartbeat as the store keeps it, from its first ping on.
///
/// A miss is sent in two steps: `missStartedAt` is written before its alert is ingested,
/// `missSentAt` once it was and no ping came in between. A ping after either needs a
/// recovery; both are cleared once that recovery is committed.
public struct HeartbeatState: Sendable, Equatable {
    public var name: String
    public var lastPingAt: Timestamp
    public var missStartedAt: Timestamp?
    public var missSentAt: Timestamp?

    public init(name: String, lastPingAt: Timestamp, missStartedAt: Timestamp? = nil, missSentAt: Timestamp? = nil) {
        self.name = name
        self.lastPingAt = lastPingAt
        self.missStartedAt = missStartedAt
        self.missSentAt = missSentAt
    }

    /// A missed alert may be open: a ping must be followed by a recovery.
    public var mayBeMissed: Bool { missStartedAt != nil || missSentAt != nil }

    /// It pinged after its last miss, and that miss's recovery is not recorded yet (the
    /// ping's own recovery failed or is still on its way).
    public var needsRecovery: Bool {
        guard let lastMiss = [missStartedAt, missSentAt].compactMap({ $0 }).max() else { return false }
        return lastPingAt >= lastMiss  // a miss starts a timeout after the last ping: only a new ping reaches it
    }
}

extension Heartbeat {
    /// When the heartbeat is missed: a timeout after its last ping.
    public func expiry(of state: HeartbeatState) -> Timestamp {
        state.lastPingAt + timeout
    }

    /// When its missed alert is due: at the expiry, then again every timeout while no ping
    /// comes, so the incident does not auto-resolve, nor stay resolved, while the monitor
    /// is still down.
    public func nextMiss(of state: HeartbeatState) -> Timestamp {
        let expiry = expiry(of: state)
        guard let sent = state.missSentAt, sent >= expiry else { return expiry }
        return sent + timeout
    }

    /// When the heartbeat counts as missed, watched since `startedAt`: one whose last ping
    /// came before the start, and that was not missed, could not reach a stopped
    /// alertbridge, so an expiry before the start, or soon after it, waits until the
    /// monitor has had time to ping again: its timeout after the start, at most
    /// ``restartGrace`` (a deploy longer than the timeout paged the NOC critical, and
    /// RESOLVED at the next ping; a daily job's 25h heartbeat is not put off by a day).
    public func expiry(of state: HeartbeatState, startedAt: Timestamp) -> Timestamp {
        let expiry = expiry(of: state)
        guard !state.mayBeMissed, state.lastPingAt < startedAt else { return expiry }
        return max(expiry, startedAt + min(timeout, Self.restartGrace))
    }

    /// ``nextMiss(of:)`` for a monitor watched since `startedAt` (``expiry(of:startedAt:)``).
    public func nextMiss(of state: HeartbeatState, startedAt: Timestamp) -> Timestamp {
        state.mayBeMissed ? nextMiss(of: state) : expiry(of: state, startedAt: startedAt)
    }

    /// The longest a start puts off a heartbeat's miss.
    public static let restartGrace: Duration = .seconds(600)
}

extension Heartbeat {
    /// What an operator asks of a heartbeat: is its monitor alive?
    public enum Status: String, Sendable, CaseIterable {
        /// Never pinged: not watched yet (a heartbeat is watched from its first ping).
        case waiting
        /// Pinged within its timeout.
        case up
        /// No ping for longer than its timeout: its `HeartbeatMissed` alert is (or is about
        /// to be) sent.
        case missed
    }

    /// - Parameter startedAt: when this alertbridge started watching: a heartbeat inside
    ///   the grace a start gives it is up until ``expiry(of:startedAt:)``.
    public func status(of state: HeartbeatState?, at now: Timestamp, startedAt: Timestamp) -> Status {
        guard let state else { return .waiting }
        return now >= expiry(of: state, startedAt: startedAt) ? .missed : .up
    }
}
