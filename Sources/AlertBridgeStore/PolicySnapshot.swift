import AlertBridgeCore
import Foundation
import Synchronization

/// The escalation policy an incident runs by, as the store keeps it: JSON, written when
/// the incident starts an episode.
enum PolicySnapshot {
    /// Decodes a stored snapshot once per distinct text: a storm's thousands of incidents
    /// share a few, and each of their pages reads one (what it says comes next). Decoding
    /// it every time made a storm of new incidents 8% dearer per alert.
    static func decode(_ text: String) -> EscalationPolicy? {
        if let known = decoded.withLock({ $0[text] }) { return known }
        guard let policy = try? JSONDecoder().decode(EscalationPolicy.self, from: Data(text.utf8)) else { return nil }
        decoded.withLock { known in
            if known.count >= 64 { known.removeAll(keepingCapacity: true) }
            known[text] = policy
        }
        return policy
    }

    private static let decoded = Mutex<[String: EscalationPolicy]>([:])
}
