#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HummingbirdCore
import Logging
import NIOCore

/// How many HTTP connections alertbridge keeps open, and for how long one may say nothing.
///
/// Without them, clients that open connections and never finish a request (or trickle
/// one header line every few seconds) held them for good: 20,000 took every file
/// descriptor, and `/healthz`, the store and outbound deliveries had none left (black-box
/// round 24). Past the limit, new connections wait in the listen backlog until one closes.
public enum ConnectionLimits {
    /// A connection that neither sends nor receives anything this long is closed (a
    /// keep-alive connection between requests too; clients open another), and so is one
    /// whose request head has not arrived whole this long after it opened or after its
    /// last response, however it trickles in (`RequestHeadDeadline`).
    static let idleTimeout: TimeAmount = .seconds(60)

    /// The HTTP/1.1 channel with both.
    static var http1: HTTP1Channel.Configuration {
        .init(additionalChannelHandlers: [RequestHeadDeadline(timeout: idleTimeout)], idleTimeout: idleTimeout)
    }

    /// The descriptors the process may open, less room for the store's files and
    /// connections, outbound deliveries and logs: 512, or half under a low limit (at 64,
    /// connections took every descriptor, and the store and the pages failed to open files).
    public static var maxConnections: Int {
        guard let limit = descriptorLimit else { return 16_384 }
        return min(max(limit - 512, limit / 2), 16_384)
    }

    /// The cap on open connections, said in the log when it is reached: 600 idle
    /// connections under a 1,024-descriptor limit left `/healthz` and ingest unanswered,
    /// and nothing said why (black-box round 28). Said once a minute at most, however
    /// often the count touches the cap.
    struct Cap: AvailableConnectionsDelegate {
        let max: Int
        let logger: Logger
        var open = 0
        var saidAt: ContinuousClock.Instant?

        init(_ max: Int, logger: Logger) {
            self.max = max
            self.logger = logger
        }

        mutating func connectionOpened() {
            open += 1
            guard open >= max, saidAt.map({ ContinuousClock.now - $0 >= .seconds(60) }) ?? true else { return }
            saidAt = .now
            logger.warning("""
                \(max) connections are open, the limit: new ones wait in the listen backlog until one closes (an idle one \
                closes after a minute); many idle or slow clients hold them (a higher descriptor limit allows more)
                """)
        }

        mutating func connectionClosed() { open -= 1 }

        func isAcceptingNewConnections() -> Bool { open < max }
    }

    /// The process's soft descriptor limit, `nil` when unlimited.
    static var descriptorLimit: Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(limit.rlim_cur)
    }

    /// Raises the soft descriptor limit to the hard one, as Go's runtime does at start (and
    /// so Alertmanager): a shell's or a container's default soft limit (1,024, or less) is
    /// no measure of what a server needs. Returns the limit now.
    @discardableResult
    public static func raiseDescriptorLimit() -> Int? {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return descriptorLimit
    }
}
