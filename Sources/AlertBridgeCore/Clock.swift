import Foundation
import Synchronization

/// Where "now" comes from. Injected everywhere so that timers are tested with a
/// manual clock instead of sleeping.
public protocol WallClock: Sendable {
    func now() -> Timestamp
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}

/// A clock that only moves when told to; for tests.
public final class ManualClock: WallClock {
    private let current: Mutex<Timestamp>

    public init(_ start: Timestamp) { current = Mutex(start) }

    public func now() -> Timestamp { current.withLock { $0 } }

    public func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }

    public func set(_ time: Timestamp) {
        current.withLock { $0 = time }
    }
}
