import AlertBridgeCore

/// The other instances whose lock keys are stamped on pending claims but held by no
/// session, and since when they have been seen missing: what decides that an instance is
/// dead and its pages may be taken back (``InstanceLock``).
///
/// Dead means missing for ``grace``, seen twice, not a claim older than that: a live
/// instance that lost its lock's connection takes the lock again within about a second,
/// and a claim made in that second must not take back the page it is still sending
/// (black-box round 45: one was sent twice that way). The grace also covers PostgreSQL
/// restarting, when every session ends at once and every instance takes its lock again.
struct AbsentInstances: Sendable {
    static let grace: Duration = .seconds(10)
    /// How often `pg_locks` is read at most: it is read under the lock manager's locks,
    /// and claims come many times a second during a storm of new incidents.
    static let lookEvery: Duration = .seconds(1)

    private var missingSince: [Int64: Timestamp] = [:]
    private var lastLook: Timestamp?

    /// Whether it is time to look for missing keys again.
    mutating func shouldLook(at now: Timestamp) -> Bool {
        if let lastLook, now >= lastLook, now - Self.lookEvery < lastLook { return false }
        lastLook = now
        return true
    }

    /// Records the keys seen missing at `now` (a key not among them is held again, or has
    /// no claim left) and returns those missing for the grace at least.
    mutating func seenMissing(_ keys: Set<Int64>, at now: Timestamp) -> [Int64] {
        missingSince = Dictionary(uniqueKeysWithValues: keys.map { ($0, missingSince[$0] ?? now) })
        return missingSince.filter { $0.value <= now - Self.grace }.map(\.key).sorted()
    }
}
