#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HummingbirdCore
import NIOCore

/// How many HTTP connections alertbridge keeps open, and for how long one may say nothing.
///
/// Without them, clients that open connections and never finish a request (or trickle
/// one header line every few seconds) held them for good: 20,000 took every file
/// descriptor, and `/healthz`, the store and outbound deliveries had none left (black-box
/// round 24). Past the limit, new connections wait in the listen backlog until one closes.
enum ConnectionLimits {
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
    /// connections, outbound deliveries and logs; at least 64.
    static var maxConnections: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 16_384 }
        return max(64, min(Int(limit.rlim_cur) - 512, 16_384))
    }
}
