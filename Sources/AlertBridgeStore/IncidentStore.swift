import AlertBridgeCore

/// The repository every store implements: SQLite (embedded) and PostgreSQL.
///
/// One shared conformance suite runs against every implementation, so the server
/// never needs to know which one it has. Each method is one transaction.
public protocol IncidentStore: Sendable {
    /// Applies a batch of routed alerts in one transaction, committed before it returns.
    func ingest(_ batch: [RoutedAlert], now: Timestamp) async throws -> [IngestOutcome]
    /// Incidents newest first.
    func incidents(_ query: IncidentQuery) async throws -> [Incident]
    /// One incident with its alerts and timeline, or `nil`.
    func incident(id: Int64) async throws -> IncidentDetail?
    /// Applies an operator action. Throws ``StoreError/notFound`` or ``IncidentAction/Refusal``.
    func act(_ action: IncidentAction, on id: Int64, now: Timestamp) async throws -> Incident
    /// Succeeds when the store can serve requests (for `/readyz`).
    func ping() async throws
    func close() async throws
}

/// Which incidents to list.
public struct IncidentQuery: Sendable, Equatable {
    public enum StatusFilter: String, Sendable, CaseIterable {
        case open, triggered, acknowledged, resolved, all

        var statuses: [IncidentStatus] {
            switch self {
            case .open: [.triggered, .acknowledged]
            case .triggered: [.triggered]
            case .acknowledged: [.acknowledged]
            case .resolved: [.resolved]
            case .all: IncidentStatus.allCases
            }
        }
    }

    public var status: StatusFilter
    public var limit: Int

    public init(status: StatusFilter = .open, limit: Int = 100) {
        self.status = status
        self.limit = limit
    }
}

/// An alert as stored inside its incident: the latest copy and how often it came.
public struct StoredAlert: Sendable, Equatable {
    public var fingerprint: String
    public var status: AlertStatus
    public var severity: Severity
    public var summary: String
    public var labels: Labels
    public var annotations: Labels
    public var source: String
    public var value: Double?
    public var threshold: Double?
    public var startsAt: Timestamp?
    public var endsAt: Timestamp?
    public var firstSeenAt: Timestamp
    public var lastSeenAt: Timestamp
    public var receivedCount: Int
}

public struct IncidentDetail: Sendable, Equatable {
    public var incident: Incident
    public var alerts: [StoredAlert]
    public var timeline: [TimelineEntry]
}

public enum StoreError: Error, Equatable, CustomStringConvertible {
    case notFound(Int64)
    case unavailable(String)
    case invalidLocation(String)

    public var description: String {
        switch self {
        case .notFound(let id): "incident \(id) not found"
        case .unavailable(let why): "store unavailable: \(why)"
        case .invalidLocation(let why): why
        }
    }
}
