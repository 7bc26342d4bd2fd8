import AlertBridgeCore

/// Exponential backoff with full jitter for transient delivery failures.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    /// Give up (and record a permanent failure) once a page is this old.
    public var maxAge: Duration

    public init(initial: Duration = .seconds(2), maximum: Duration = .seconds(300), maxAge: Duration = .seconds(3600)) {
        self.initial = initial
        self.maximum = maximum
        self.maxAge = maxAge
    }

    /// The wait before attempt `attempts + 1`: the receiver's `Retry-After` when it gave
    /// one (at least `initial`, so that `Retry-After: 0` is no loop), else between half and
    /// all of `initial * 2^(attempts-1)`, capped.
    ///
    /// The receiver's word replaces the back-off rather than bounding it from below: after
    /// five 500s, a 429 saying "5 s" waited out 32–64 s of back-off, and the page a
    /// `Retry-After` holds is not tried early when its connector delivers again, so the
    /// incident's first page came last, after its `ESCALATED` (black-box round 36).
    public func delay(afterAttempts attempts: Int, retryAfter: Duration?, random: Double) -> Duration {
        if let retryAfter { return max(retryAfter, initial) }
        let exponent = min(max(attempts - 1, 0), 20)
        let base = min(initial.milliseconds << exponent, maximum.milliseconds)
        let jittered = Int64(Double(base) * (0.5 + 0.5 * random))
        return .milliseconds(jittered)
    }
}
