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

    /// The wait before attempt `attempts + 1`: between half and all of
    /// `initial * 2^(attempts-1)`, capped, and never shorter than the receiver's `Retry-After`.
    public func delay(afterAttempts attempts: Int, retryAfter: Duration?, random: Double) -> Duration {
        let exponent = min(max(attempts - 1, 0), 20)
        let base = min(initial.milliseconds << exponent, maximum.milliseconds)
        let jittered = Int64(Double(base) * (0.5 + 0.5 * random))
        return .milliseconds(max(jittered, retryAfter?.milliseconds ?? 0))
    }
}
