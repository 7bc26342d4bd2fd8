import AlertBridgeNotify
import Synchronization

/// A connector that records what it was asked to deliver and can fail on cue.
final class RecordingConnector: Connector {
    let pages = Mutex<[PageMessage]>([])
    /// Errors to throw, one per attempt, before deliveries succeed.
    let failures: Mutex<[DeliveryError]>

    init(failures: [DeliveryError] = []) { self.failures = Mutex(failures) }

    func deliver(_ page: PageMessage) async throws(DeliveryError) -> Delivered {
        if let failure = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw failure }
        pages.withLock { $0.append(page) }
        return .toAll
    }

    var delivered: [PageMessage] { pages.withLock { $0 } }

    /// (event, tier) of every delivered page, in order.
    var summary: [String] { delivered.map { "\($0.delivery.event.rawValue):\($0.delivery.tier)" } }
}
