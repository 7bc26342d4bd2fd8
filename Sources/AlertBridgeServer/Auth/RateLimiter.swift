import AlertBridgeCore
import Synchronization

/// A token bucket per key: `rate` requests per second, bursts up to `burst`.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Timestamp
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock: any WallClock

    public init(clock: any WallClock) { self.clock = clock }

    /// Takes one request's token; `nil` if allowed, else the seconds to wait (for `Retry-After`).
    public func acquire(_ key: String, rate: Double, burst: Double) -> Int? {
        let now = clock.now()
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double(max(0, now.milliseconds - bucket.updated.milliseconds)) / 1000
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}
