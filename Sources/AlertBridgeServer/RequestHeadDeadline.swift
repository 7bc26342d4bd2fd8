import NIOCore
import NIOHTTPTypes

/// Closes a connection whose next request head has not fully arrived within `timeout` of
/// the connection opening or of its last response, or whose request body has not within
/// `timeout` of its head.
///
/// The idle timeout restarts with every byte, so a client that trickled a header line
/// every few seconds kept its connection for good, and a few thousand of them filled the
/// connection cap: `/healthz` waited behind them (black-box round 24); one that trickled a
/// body byte every few seconds also held a SIGTERM up until it quit (round 26). An honest
/// client sends its request at once, and one idle between the requests of a keep-alive
/// connection is closed after the same time as by the idle timeout. Once a request is in,
/// its handler takes as long as it takes.
final class RequestHeadDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    /// When the connection began to wait for a request head, or for the rest of a request
    /// whose head is in; `nil` while requests are handled.
    private var waitingSince: NIODeadline?
    /// Heads read less responses ended: a pipelining client's next request can be in
    /// before the last one's response (Hummingbird's channel reads ahead).
    private var inFlight = 0
    /// One check per connection, rescheduled when it finds the wait restarted: a
    /// request costs a clock reading, not a timer.
    private var check: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startWaiting(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
    }

    func channelActive(context: ChannelHandlerContext) {
        startWaiting(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inFlight += 1
            startWaiting(context)  // for its body
        case .end where inFlight > 0:
            waitingSince = nil
        case .body, .end:
            break  // a body answered before it was read (a 401) waits with the next head
        }
        context.fireChannelRead(data)
    }

    /// The end of the last response in flight starts the wait for the next head.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            if inFlight == 0 { startWaiting(context) }
        }
        context.write(data, promise: promise)
    }

    private func startWaiting(_ context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        waitingSince = now
        if check == nil { scheduleCheck(context, at: now + timeout) }
    }

    private func scheduleCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let channel = context.channel
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            check = nil
            guard let since = waitingSince else { return }  // a request is in; its response restarts the wait
            if context.eventLoop.now >= since + timeout {
                channel.close(promise: nil)
            } else {
                scheduleCheck(context, at: since + timeout)
            }
        }
    }
}
