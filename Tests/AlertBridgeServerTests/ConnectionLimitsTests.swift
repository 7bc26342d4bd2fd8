@testable import AlertBridgeServer
import Foundation
import Logging
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

/// A connection's handlers as the server sets them up (`ConnectionLimits.http1`), fed
/// bytes on a clock the test moves: no waiting a minute for real.
struct ConnectionLimitsTests {
    static func connection() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try channel.pipeline.syncOperations.addHandlers(ConnectionLimits.http1.additionalChannelHandlers())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9000)).wait()
        return channel
    }

    static func send(_ text: String, on channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    static func answer(on channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .accepted)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
    }

    /// A header line every 20 seconds kept a connection open for good, as each byte
    /// restarted the idle timeout; a few thousand filled the connection cap (black-box
    /// round 24). It is closed a minute after it opened, bytes or not.
    @Test func aRequestHeadTrickledInIsCutOffAMinuteAfterTheConnectionOpened() throws {
        let channel = try Self.connection()
        let loop = channel.embeddedEventLoop
        try Self.send("POST /api/v1/alerts HTTP/1.1\r\n", on: channel)
        for line in ["Host: alertbridge\r\n", "X-One: 1\r\n"] {
            loop.advanceTime(by: .seconds(20))
            try Self.send(line, on: channel)
        }
        loop.advanceTime(by: .seconds(19))
        #expect(channel.isActive, "59 s: still within the minute")
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "60 s: closed, though a line came 20 s ago")
    }

    /// Once its head is in, a request takes as long as its handler does; after its
    /// response, the connection waits a minute for the next request, as the idle timeout did.
    @Test func aRequestInIsNotCutAndAKeepAliveConnectionWaitsAMinuteForTheNext() throws {
        let channel = try Self.connection()
        let loop = channel.embeddedEventLoop
        loop.advanceTime(by: .seconds(50))
        try Self.send("POST /api/v1/alerts HTTP/1.1\r\nHost: alertbridge\r\nContent-Length: 2\r\n\r\n{}", on: channel)
        loop.advanceTime(by: .seconds(120))
        #expect(channel.isActive, "the request is being handled")
        try Self.answer(on: channel)
        loop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        try Self.send("GET /healthz HTTP/1.1\r\nHost: alertbridge\r\n\r\n", on: channel)
        loop.advanceTime(by: .seconds(300))
        #expect(channel.isActive, "the second request is being handled")
        try Self.answer(on: channel)
        loop.advanceTime(by: .seconds(60))
        #expect(!channel.isActive, "nothing came in the minute after the last response")
    }

    /// A body trickled in after its head held the connection (and a SIGTERM) until the
    /// client quit (black-box round 26): it is cut off a minute after the head.
    @Test func aRequestBodyTrickledInIsCutOffAMinuteAfterItsHead() throws {
        let channel = try Self.connection()
        let loop = channel.embeddedEventLoop
        loop.advanceTime(by: .seconds(30))
        try Self.send("POST /api/v1/alerts HTTP/1.1\r\nHost: alertbridge\r\nContent-Length: 100\r\n\r\n", on: channel)
        for _ in 0..<11 {
            loop.advanceTime(by: .seconds(5))
            try Self.send("x", on: channel)
        }
        loop.advanceTime(by: .seconds(4))
        #expect(channel.isActive, "59 s after the head")
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "60 s after the head, though a byte came 5 s ago")
    }

    /// A pipelining client's second request is read before the first is answered: the
    /// first's response does not start the wait while the second is still being handled.
    @Test func aPipelinedRequestIsNotCutWhileItIsHandled() throws {
        let channel = try Self.connection()
        let loop = channel.embeddedEventLoop
        try Self.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /readyz HTTP/1.1\r\nHost: a\r\n\r\n", on: channel)
        try Self.answer(on: channel)
        loop.advanceTime(by: .seconds(90))
        #expect(channel.isActive, "the second request is still being handled")
        try Self.answer(on: channel)
        loop.advanceTime(by: .seconds(60))
        #expect(!channel.isActive)
    }
}

/// The connection cap says so in the log when it is reached, once (black-box round 28:
/// 600 idle connections blocked `/healthz`, and nothing said why).
struct ConnectionCapTests {
    /// Log lines as `level: message`, for a test to read.
    final class Lines: LogHandler, @unchecked Sendable {
        private let lock = NSLock()
        private var all: [String] = []
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var lines: [String] { lock.withLock { all } }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lock.withLock { all.append("\(event.level): \(event.message)") }
        }
    }

    @Test func reachingTheCapIsLoggedOnce() {
        let lines = Lines()
        var cap = ConnectionLimits.Cap(3, logger: Logger(label: "test") { _ in lines })
        for _ in 0..<2 { cap.connectionOpened() }
        #expect(cap.isAcceptingNewConnections() && lines.lines.isEmpty)
        cap.connectionOpened()
        #expect(!cap.isAcceptingNewConnections())
        #expect(lines.lines.count == 1 && lines.lines[0].hasPrefix("warning: 3 connections are open, the limit: new ones wait"),
                "\(lines.lines)")
        // Touching the cap again within the minute says nothing more.
        cap.connectionClosed()
        #expect(cap.isAcceptingNewConnections())
        cap.connectionOpened()
        #expect(lines.lines.count == 1)
    }
}
