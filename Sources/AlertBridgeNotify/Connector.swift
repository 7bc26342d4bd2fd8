import AlertBridgeCore
import AlertBridgeStore

/// Delivers one page somewhere (console, SMTP, Slack, Teams, a webhook).
public protocol Connector: Sendable {
    func deliver(_ page: PageMessage) async throws(DeliveryError)
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

    public init(delivery: Delivery, incident: IncidentDetail) {
        self.delivery = delivery
        self.incident = incident
    }
}
