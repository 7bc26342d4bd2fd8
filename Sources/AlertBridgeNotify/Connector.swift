import AlertBridgeCore
import AlertBridgeStore
import Foundation

/// Delivers one page somewhere (console, SMTP, Slack, Teams, a webhook).
public protocol Connector: Sendable {
    /// Returns once the receiver took the page; throws when it did not.
    func deliver(_ page: PageMessage) async throws(DeliveryError) -> Delivered

    /// Whether a page an acknowledgement or resolve overtook is dropped rather than sent
    /// (``Delivery/overtaken(by:)``): yes for people, who get the notice instead; no for a
    /// machine that keeps its own state from every event (a webhook's ticket system would
    /// otherwise see an incident acknowledged that it never saw open).
    var dropsOvertakenPages: Bool { get }
}

extension Connector {
    public var dropsOvertakenPages: Bool { true }
}

/// A page the receiver took, and what it still has to say.
public struct Delivered: Sendable, Equatable {
    /// Recipients the receiver refused while it took the page for the others (an email
    /// address of several that bounced at `RCPT TO`), each with the receiver's reply.
    /// Nobody would otherwise learn that one person on the list was never paged.
    public var refused: [RefusedRecipient]

    public init(refused: [RefusedRecipient] = []) { self.refused = refused }

    /// Taken for everyone it was addressed to.
    public static let toAll = Delivered()
}

/// One address a mail server refused at `RCPT TO`, and what it replied.
public struct RefusedRecipient: Sendable, Equatable, CustomStringConvertible {
    public var address: String
    /// The server's reply line, such as `451 4.7.1 Greylisted, try again later`.
    public var reply: String

    public init(address: String, reply: String) {
        self.address = address
        self.reply = reply
    }

    /// A 4xx reply (greylisting, a full mailbox, a busy server): asking again later may
    /// succeed, so the page is sent to this address again.
    public var isTemporary: Bool { reply.first == "4" }

    public var description: String { "\(address) (\(reply))" }
}

/// Why a delivery failed, and whether trying again can help.
public enum DeliveryError: Error, Equatable, CustomStringConvertible {
    /// Connection refused, timeout, 5xx, 429: retried with backoff. A receiver's
    /// `Retry-After` is honoured when it gives one.
    case transient(String, retryAfter: Duration? = nil)
    /// Other 4xx, a rejected recipient: recorded and not retried.
    case permanent(String)

    public var description: String {
        switch self {
        case .transient(let why, _): why
        case .permanent(let why): why
        }
    }
}

/// Everything a connector needs to render a page: the outbox row and the incident.
public struct PageMessage: Sendable {
    public var delivery: Delivery
    public var incident: IncidentDetail
    /// The zone its text gives times in, beside UTC (`time_zone:` in alertbridge.yaml).
    public var timeZone: TimeZone
    /// When the alertbridge sending it started: a step that fell due while it was stopped
    /// is taken a grace after that (``EscalationPlanner/restartGrace``), and `Next:` says so.
    public var startedAt: Timestamp?

    public init(delivery: Delivery, incident: IncidentDetail, timeZone: TimeZone = PageText.utc, startedAt: Timestamp? = nil) {
        self.delivery = delivery
        self.incident = incident
        self.timeZone = timeZone
        self.startedAt = startedAt
    }
}
