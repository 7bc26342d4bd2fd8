/// `alertbridge report`: how a window's incidents went, for the people who own the SLA.
///
/// A pure summary of incidents as the API lists them, so the numbers are tested with
/// fixed times and the command only fetches and prints.
public struct IncidentReport: Sendable {
    /// What the summary needs of one incident.
    public struct Item: Sendable, Equatable {
        public var id: Int64
        public var status: IncidentStatus
        public var severity: Severity
        public var policy: String
        public var createdAt: Timestamp
        /// `nil` while nothing paged (a silence or an inhibition held it).
        public var firstPagedAt: Timestamp?
        /// The first acknowledgement, as the acknowledge SLA measures it (kept through an
        /// ack timeout or a reopen).
        public var acknowledgedAt: Timestamp?
        public var resolvedAt: Timestamp?
        /// What closed it; `nil` while open, and for one resolved before alertbridge recorded it.
        public var resolution: Resolution?
        /// `acknowledge`, `resolve`: the SLAs the incident breached.
        public var slaBreaches: [String]
        public var labels: Labels

        public init(id: Int64 = 0, status: IncidentStatus, severity: Severity, policy: String, createdAt: Timestamp,
                    firstPagedAt: Timestamp?, acknowledgedAt: Timestamp?, resolvedAt: Timestamp?,
                    resolution: Resolution? = nil, slaBreaches: [String], labels: Labels = [:]) {
            self.id = id
            self.status = status
            self.severity = severity
            self.policy = policy
            self.createdAt = createdAt
            self.firstPagedAt = firstPagedAt
            self.acknowledgedAt = acknowledgedAt
            self.resolvedAt = resolvedAt
            self.resolution = resolution
            self.slaBreaches = slaBreaches
            self.labels = labels
        }
    }

    /// Durations over the incidents that have one: nearest-rank percentiles.
    public struct Spread: Sendable, Equatable {
        public var count: Int
        public var median: Duration
        public var p90: Duration
        public var max: Duration

        init?(_ values: [Duration]) {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            func rank(_ p: Double) -> Duration { sorted[Swift.max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1)] }
            count = sorted.count
            median = rank(0.5)
            p90 = rank(0.9)
            max = sorted[sorted.count - 1]
        }
    }

    /// Counts by the value of each label asked for (`report --group-by pop`), largest first;
    /// incidents without the label count under ``IncidentReport/noValue``.
    public var byLabel: [(label: String, counts: [(String, Int)])] = []
    public static let noValue = "(none)"

    public var total = 0
    public var open = 0
    public var resolved = 0
    /// Resolved incidents by what closed them, in ``Resolution`` order; those resolved
    /// before alertbridge recorded it are ``unrecordedResolutions``.
    public var resolvedBy: [(Resolution, Int)] = []
    public var unrecordedResolutions = 0
    /// Incidents that paged someone: the response times are theirs.
    public var paged = 0
    /// Counts by severity, most severe first; severities with no incident are left out.
    public var bySeverity: [(Severity, Int)] = []
    /// Counts by policy, largest first.
    public var byPolicy: [(String, Int)] = []
    public var timeToAcknowledge: Spread?
    /// Resolutions by an operator or by the alerts: an auto-resolve is nobody's response,
    /// only the policy's `auto_resolve_after` after the last alert.
    public var timeToResolve: Spread?
    /// Paged incidents that auto-resolved, and so are not in ``timeToResolve``.
    public var autoResolvedUntimed = 0
    /// The incidents that breached each SLA, by id: the review asks which.
    public var acknowledgeSLABreached: [Int64] = []
    public var resolveSLABreached: [Int64] = []
    public var acknowledgeSLABreaches: Int { acknowledgeSLABreached.count }
    public var resolveSLABreaches: Int { resolveSLABreached.count }

    public init(_ items: [Item], byLabels: [String] = []) {
        total = items.count
        open = items.filter { $0.status.isOpen }.count
        resolved = total - open
        paged = items.filter { $0.firstPagedAt != nil }.count
        var severities: [Severity: Int] = [:]
        var policies: [String: Int] = [:]
        for item in items {
            severities[item.severity, default: 0] += 1
            policies[item.policy, default: 0] += 1
        }
        let closed = items.filter { $0.status == .resolved }
        resolvedBy = Resolution.allCases.map { how in (how, closed.filter { $0.resolution == how }.count) }
        unrecordedResolutions = closed.filter { $0.resolution == nil }.count
        bySeverity = severities.sorted { $0.key > $1.key }.map { ($0.key, $0.value) }
        byPolicy = Self.largestFirst(policies)
        byLabel = byLabels.map { label in
            // An empty value is an absent one, as in Prometheus.
            (label, Self.largestFirst(Dictionary(items.map { ($0.labels[label].flatMap { $0.isEmpty ? nil : $0 } ?? Self.noValue, 1) },
                                                 uniquingKeysWith: +)))
        }
        // From the first page, as the SLAs count: the hours a silence held an incident are
        // nobody's response time, and an incident never paged has none. Never negative:
        // instances of a fleet may disagree on the time by a little. One acknowledged well
        // before its first page answered no page (taken while an inhibition held it, paged
        // when that acknowledgement timed out): it counted as a response in no time.
        func since(_ item: Item, _ at: Timestamp?) -> Duration? {
            guard let start = item.firstPagedAt, let at, !Self.isBeforeFirstPage(at, start) else { return nil }
            return .milliseconds(Swift.max(0, at.milliseconds - start.milliseconds))
        }
        timeToAcknowledge = Spread(items.compactMap { since($0, $0.acknowledgedAt) })
        timeToResolve = Spread(items.filter { $0.resolution != .autoResolve }.compactMap { since($0, $0.resolvedAt) })
        autoResolvedUntimed = items.filter { $0.resolution == .autoResolve && $0.firstPagedAt != nil }.count
        acknowledgeSLABreached = items.filter { $0.slaBreaches.contains("acknowledge") }.map(\.id).sorted()
        resolveSLABreached = items.filter { $0.slaBreaches.contains("resolve") }.map(\.id).sorted()
    }

    /// How far apart the clocks of a fleet's instances may be.
    static let clockSkew: Duration = .seconds(5)

    /// An acknowledgement that answered no page: earlier than the first page by more than
    /// the clocks of a fleet disagree.
    public static func isBeforeFirstPage(_ at: Timestamp, _ firstPagedAt: Timestamp) -> Bool {
        at.milliseconds < firstPagedAt.milliseconds - clockSkew.milliseconds
    }

    /// Largest count first; a tie by name, with ``noValue`` after the named values (its
    /// `(` sorted it before every PoP).
    private static func largestFirst(_ counts: [String: Int]) -> [(String, Int)] {
        counts.sorted { a, b in
            guard a.value == b.value else { return a.value > b.value }
            guard a.key != noValue, b.key != noValue else { return b.key == noValue }
            return a.key < b.key
        }.map { ($0.key, $0.value) }
    }
}
